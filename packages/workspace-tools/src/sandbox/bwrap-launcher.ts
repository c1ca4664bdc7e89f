import type { SandboxLimits } from "../config.ts";
import type { LimitPlan, SandboxFacts } from "./sandbox-facts.ts";

/** Exit status of the sandbox's prelude when it cannot set a limit (nothing of the command ran). */
export const PRELUDE_FAILED_EXIT = 125;

/** The kernel's smallest `pid_max` (RESERVED_PIDS + 1). */
const minPidMax = 301;

/** One sandboxed call: where it may write, what it sees and what it may use. */
export interface SandboxCall {
  /** The workspace root (its real path): the one directory bound read-write. */
  root: string;
  /** Working directory inside the root. */
  cwd: string;
  network: boolean;
  /** Paths to hide (absolute, existing): an empty directory or /dev/null is mounted over each. */
  hidden: ReadonlyArray<{ path: string; directory: boolean }>;
  limits: SandboxLimits;
  /** A cgroup's `cgroup.procs` the call joins before bwrap starts (cgroup limits), if any. */
  cgroupProcs?: string;
  /**
   * An empty file with mode 000 mounted over hidden files, so reading one fails with "Permission
   * denied" (the sandbox holds no capability to override it); /dev/null (reads as empty) without it.
   */
  filePlaceholder?: string;
  /**
   * Directories outside the root the call may see again after the hidden paths (a git worktree's
   * repository: its shared `.git` read-only, the worktree's own admin directory read-write).
   */
  binds?: ReadonlyArray<{ path: string; writable: boolean }>;
}

/** True when `path` is `dir` or inside it. */
function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === "/" ? "/" : `${dir}/`);
}

/** bwrap arguments that mask one path: a tmpfs over a directory, the placeholder over a file. */
function hide({ path, directory }: { path: string; directory: boolean }, placeholder: string): string[] {
  return directory ? ["--tmpfs", path] : ["--ro-bind", placeholder, path];
}

/** The pid_max that lets the call run `pids` processes: bwrap's init and the shell count too. */
export function pidMaxFor(pids: number): number {
  return Math.max(pids + 2, minPidMax);
}

/**
 * The script bwrap runs first, inside the namespaces: caps the PID namespace's `pid_max` and makes
 * `/proc/sys` read-only so it stays capped, sets the rlimits (shell builtins, soft before hard),
 * drops every capability, then execs the command (`"$@"`). It needs capabilities only for the
 * `pid_max` step; otherwise bwrap drops them itself (`--cap-drop ALL`). Each step is a builtin or
 * one exec, since every process started here is paid on every call.
 */
export function preludeScript(facts: SandboxFacts, plan: LimitPlan, limits: SandboxLimits): string {
  const steps: string[] = [];
  if (needsCapabilities(facts, plan, limits) && limits.pids !== null) {
    steps.push(
      `echo ${pidMaxFor(limits.pids)} > /proc/sys/kernel/pid_max`,
      "mount --bind -o ro /proc/sys /proc/sys",
    );
  }
  if (plan.memory === "rlimit" && limits.memoryBytes !== null) {
    const kib = Math.floor(limits.memoryBytes / 1024);
    steps.push(`ulimit -S -v ${kib}`, `ulimit -H -v ${kib}`);
  }
  // The soft limit sends SIGXCPU ("CPU time limit exceeded"), the hard one a second later SIGKILL.
  if (plan.cpu === "rlimit" && limits.cpuSeconds !== null)
    steps.push(`ulimit -S -t ${limits.cpuSeconds}`, `ulimit -H -t ${limits.cpuSeconds + 1}`);
  const exec: string[] = ["exec"];
  // RLIMIT_NPROC has no portable builtin (dash says -p, bash -u), so it goes through prlimit.
  if (plan.pids === "rlimit" && limits.pids !== null && facts.prlimit !== undefined)
    exec.push(facts.prlimit, `--nproc=${limits.pids}:${limits.pids}`, "--");
  if (needsCapabilities(facts, plan, limits) && facts.setpriv !== undefined) {
    exec.push(
      facts.setpriv,
      "--inh-caps=-all",
      "--ambient-caps=-all",
      "--bounding-set=-all",
      "--no-new-privs",
      "--",
    );
  }
  const fail = `{ echo "dispatch-sandbox: could not set the sandbox's limits" >&2; exit ${PRELUDE_FAILED_EXIT}; }`;
  return `${
    steps.length > 0
      ? `{ ${steps.join(" && ")}; } || ${fail}
`
      : ""
  }${exec.join(" ")} "$@"`;
}

/**
 * The prelude needs capabilities when it caps the PID namespace, and then drops them with setpriv
 * (the probe only plans `pid-namespace` where setpriv exists; checked again here).
 */
function needsCapabilities(facts: SandboxFacts, plan: LimitPlan, limits: SandboxLimits): boolean {
  return plan.pids === "pid-namespace" && limits.pids !== null && facts.setpriv !== undefined;
}

/**
 * The argv a sandboxed call's `bash -c command` runs under (the backend appends `bash -c command`).
 * The host's file system is read-only, the root is bound read-write, `/tmp` and `/dev` are private,
 * the hidden paths are masked, and the call has its own PID, IPC, UTS and (without network) network
 * namespace and its own session; bwrap dies with its parent and takes the namespace with it, so
 * nothing the command starts outlives the call.
 */
export function sandboxLauncher(facts: SandboxFacts, plan: LimitPlan, call: SandboxCall): string[] {
  const argv: string[] = [];
  if (call.cgroupProcs !== undefined) {
    // Join the call's cgroup first, so bwrap and everything under it is counted there.
    argv.push("/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', call.cgroupProcs);
  }
  argv.push(facts.binary, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp");
  // A hidden directory holding the root (the data dir holds the default roots) is masked before the
  // root is bound; one inside the root, or elsewhere, after it, so the root cannot uncover it.
  const before = call.hidden.filter((h) => h.directory && within(call.root, h.path) && h.path !== call.root);
  const after = call.hidden.filter((h) => !before.includes(h) && h.path !== call.root);
  const placeholder = call.filePlaceholder ?? "/dev/null";
  for (const entry of before) argv.push(...hide(entry, placeholder));
  argv.push("--bind", call.root, call.root);
  for (const entry of after) argv.push(...hide(entry, placeholder));
  for (const { path, writable } of call.binds ?? []) argv.push(writable ? "--bind" : "--ro-bind", path, path);
  argv.push("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try");
  if (!call.network) argv.push("--unshare-net");
  const caps = needsCapabilities(facts, plan, call.limits);
  // Without root, bwrap makes a user namespace; the prelude gets capabilities in it only to cap pid_max.
  if (!facts.asRoot) argv.push("--unshare-user", ...(caps ? ["--cap-add", "ALL"] : []));
  if (!caps) argv.push("--cap-drop", "ALL");
  argv.push(
    "--new-session",
    "--die-with-parent",
    "--unsetenv",
    "SSH_AUTH_SOCK",
    "--chdir",
    call.cwd,
    "--",
    "/bin/sh",
    "-c",
    preludeScript(facts, plan, call.limits),
    "dispatch-sandbox",
  );
  return argv;
}
