import { type Contribution, DispatchError, messageOf } from "@dispatch/kernel";
import type { ExecutionBackend, ExecutionBackends } from "./backend.ts";
import { type ExecutionBackendContribution, LOCAL_HOST_ID } from "./backend-point.ts";

/**
 * The backends contributed to `executionBackendsPoint`, looked up by host id. `read` is asked at
 * every lookup, so a contributor that has failed since is no longer offered; each backend is made
 * once, on first use.
 */
export function executionBackendsFrom(
  read: () => readonly Contribution<ExecutionBackendContribution>[],
): ExecutionBackends {
  // Keyed by the contribution, so a backend lives exactly as long as what made it.
  const made = new WeakMap<ExecutionBackendContribution, ExecutionBackend>();
  return {
    forHost(hostId) {
      const wanted = hostId ?? LOCAL_HOST_ID;
      const contributions = read();
      const found = contributions.find((c) => c.value.hostId === wanted);
      if (found === undefined) {
        const known = contributions
          .map((c) => c.value.hostId)
          .filter((id) => id !== LOCAL_HOST_ID)
          .sort();
        throw new DispatchError(
          "not_found",
          `no execution backend for host "${wanted}" (known hosts: ${known.length > 0 ? known.join(", ") : "none"})`,
          { details: { hostId: wanted } },
        );
      }
      const existing = made.get(found.value);
      if (existing !== undefined) return existing;
      let backend: ExecutionBackend;
      try {
        backend = found.value.create();
      } catch (error) {
        throw new DispatchError(
          "unavailable",
          `the execution backend for host "${wanted}" (from extension "${found.extensionId}") could not be made: ${messageOf(error)}`,
          { details: { hostId: wanted }, cause: error },
        );
      }
      made.set(found.value, backend);
      return backend;
    },
  };
}

/** Backends fixed at construction (tests, benchmarks): `local` for workspaces without a host, and `others` by id. */
export function createExecutionBackends(
  local: ExecutionBackend,
  others: readonly ExecutionBackend[] = [],
): ExecutionBackends {
  const fixed = [local, ...others].map((backend, i) => ({
    extensionId: "fixed",
    value: { hostId: i === 0 ? LOCAL_HOST_ID : backend.id, create: () => backend },
  }));
  return executionBackendsFrom(() => fixed);
}
