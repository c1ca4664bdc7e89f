/** How a per-call limit is enforced on a host, as the probe found it. */
export type LimitMechanism =
  /** A child cgroup v2 per call (`memory.max`, `pids.max`): the call's total. */
  | "cgroup"
  /** `pid_max` of the call's own PID namespace (Linux 6.14+): the call's total. */
  | "pid-namespace"
  /** A resource limit on each process (RLIMIT_AS, RLIMIT_CPU, RLIMIT_NPROC). */
  | "rlimit"
  /** Not enforced on this host (the reason is in the probe). */
  | "none"
  /** Not asked for (the config sets the limit to null). */
  | "off";

/** What the probe learnt about a host: everything the launcher needs to build a call's argv. */
export interface SandboxFacts {
  /** bwrap's absolute path on the host. */
  binary: string;
  /** True when commands run as uid 0 there (bwrap then makes no user namespace of its own). */
  asRoot: boolean;
  /** The kernel scopes `pid_max` to a PID namespace (6.14+), so a call's process count can be capped. */
  pidMaxPerNamespace: boolean;
  /** `setpriv` (util-linux) on the host: drops every capability after the limits are set. */
  setpriv: string | undefined;
  /** `prlimit` (util-linux) on the host: sets RLIMIT_NPROC (the shell's `ulimit` sets the others). */
  prlimit: string | undefined;
  /** Home directory on the host, for `~/` in hidden paths. */
  home: string | undefined;
}

/** The mechanisms a host's calls get for each limit. */
export interface LimitPlan {
  memory: LimitMechanism;
  pids: LimitMechanism;
  cpu: LimitMechanism;
}

/** The outcome of probing one host. */
export interface SandboxProbe {
  /** `ready`: bash runs in the sandbox; `unavailable`: it cannot (see `reason`). */
  state: "ready" | "unavailable";
  /** Why it is unavailable, naming what is missing; or what is degraded when ready. */
  reason?: string;
  facts?: SandboxFacts;
  limits?: LimitPlan;
  /** bwrap's `--version` line. */
  version?: string;
  /** A cgroup v2 directory per-call cgroups are made in (local hosts only). */
  cgroupParent?: string;
  /** Why cgroups are not used, when they are not. */
  cgroupReason?: string;
  /** Hidden paths (absolute, `~/` expanded) that existed on the host when it was probed. */
  hiddenExisting?: Array<{ path: string; directory: boolean }>;
  checkedAt: string;
  durationMs: number;
}
