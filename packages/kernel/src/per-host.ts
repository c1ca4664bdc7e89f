import type { HostInfo } from "./context.ts";

/**
 * State one extension shares between its `register` phase and its activation on one host: both get
 * the same `host` (`reg.host`, `ctx.host`), so a contribution made in `register` can reach what
 * `activate` sets up later. Several hosts in one process (tests) each get their own.
 */
export function perHost<T>(create: () => T): (host: HostInfo) => T {
  const states = new WeakMap<HostInfo, T>();
  return (host) => {
    let state = states.get(host);
    if (state === undefined) {
      state = create();
      states.set(host, state);
    }
    return state;
  };
}
