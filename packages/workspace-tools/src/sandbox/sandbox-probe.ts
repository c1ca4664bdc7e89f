import { messageOf } from "@dispatch/kernel";
import type { ExecutionBackend } from "../backend.ts";
import type { SandboxLimits } from "../config.ts";
import { PRELUDE_FAILED_EXIT, pidMaxFor, sandboxLauncher } from "./bwrap-launcher.ts";
import type { LimitPlan, SandboxFacts, SandboxProbe } from "./sandbox-facts.ts";
import { shellQuote } from "./shell-quote.ts";

/** What the probe checks against. */
export interface ProbeOptions {
  /** The bwrap binary: a name on PATH or an absolute path. */
  binary: string;
  limits: SandboxLimits;
  /** Paths to hide, `~/` for the home directory on the host; the probe reports which exist. */
  hiddenPaths: readonly string[];
  /** Local hosts: a cgroup v2 parent for per-call cgroups, or why there is none. */
  cgroup?: { parent: string } | { reason: string };
}

/** Bound on each of the probe's commands. */
const probeTimeoutMs = 15_000;
/** Kernel release from which `pid_max` belongs to a PID namespace. */
const pidMaxNamespacedSince = [6, 14] as const;
const marker = "dispatch-sandbox-ok";

/**
 * Probes whether `bash` can run in bubblewrap on a backend's host: the binary is there, namespaces
 * can be made, and a trial command runs in exactly the sandbox calls will get (limits included).
 * Decides how each limit is enforced there. Never rejects for what it finds (that is an
 * `unavailable` result naming the missing piece); rejects only when the host cannot be reached.
 */
export async function probeSandbox(
  backend: Pick<ExecutionBackend, "exec">,
  options: ProbeOptions,
): Promise<SandboxProbe> {
  const started = performance.now();
  const done = (probe: Omit<SandboxProbe, "checkedAt" | "durationMs">): SandboxProbe => ({
    ...probe,
    checkedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
  });
  const facts = await backend.exec(factsScript(options), {
    cwd: "/",
    timeoutMs: probeTimeoutMs,
    maxOutputBytes: 64 * 1024,
  });
  const found = parseFacts(facts.stdout);
  if (found.get("missing") !== undefined || found.get("binary") === undefined) {
    return done({
      state: "unavailable",
      reason: `the sandbox binary "${options.binary}" was not found ${
        options.binary.includes("/") ? "(no executable file there)" : "on PATH"
      }; install bubblewrap (Debian: apt-get install bubblewrap) or set tools.sandboxBinary`,
    });
  }
  const probeDir = found.get("probe_dir");
  const sandboxFacts: SandboxFacts = {
    binary: found.get("binary") as string,
    asRoot: found.get("uid") === "0",
    pidMaxPerNamespace: kernelAtLeast(found.get("kernel") ?? "", pidMaxNamespacedSince),
    setpriv: found.get("setpriv") || undefined,
    prlimit: found.get("prlimit") || undefined,
    home: found.get("home") || undefined,
  };
  const version = found.get("version") || undefined;
  const hiddenExisting = [
    ...found.getAll("hidden_dir").map((path) => ({ path, directory: true })),
    ...found.getAll("hidden_file").map((path) => ({ path, directory: false })),
  ];
  if (probeDir === undefined) {
    return done({
      state: "unavailable",
      reason: `could not make a directory for the trial run: ${facts.stderr.trim() || "mktemp failed"}`,
      facts: sandboxFacts,
      version,
    });
  }
  const cgroupParent = options.cgroup && "parent" in options.cgroup ? options.cgroup.parent : undefined;
  try {
    let plan = limitPlan(sandboxFacts, options.limits, cgroupParent);
    let trial = await runTrial(backend, sandboxFacts, plan, options.limits, probeDir);
    const notes: string[] = [];
    if (!trial.ok && plan.pids === "pid-namespace") {
      // A kernel that refuses the namespace's pid_max: fall back and say so.
      notes.push(`pids not capped: the PID namespace's pid_max could not be set (${trial.reason})`);
      plan = { ...plan, pids: sandboxFacts.asRoot || !sandboxFacts.prlimit ? "none" : "rlimit" };
      trial = await runTrial(backend, sandboxFacts, plan, options.limits, probeDir);
    }
    if (!trial.ok) {
      return done({
        state: "unavailable",
        reason: `the trial command failed in the sandbox: ${trial.reason}${namespaceHint(found, sandboxFacts)}`,
        facts: sandboxFacts,
        version,
      });
    }
    notes.push(...degraded(sandboxFacts, plan, options.limits));
    return done({
      state: "ready",
      ...(notes.length > 0 ? { reason: notes.join("; ") } : {}),
      facts: sandboxFacts,
      limits: plan,
      ...(version === undefined ? {} : { version }),
      ...(cgroupParent === undefined ? {} : { cgroupParent }),
      ...(options.cgroup && "reason" in options.cgroup ? { cgroupReason: options.cgroup.reason } : {}),
      hiddenExisting,
    });
  } finally {
    await backend
      .exec(`rmdir -- ${shellQuote(probeDir)}`, { cwd: "/", timeoutMs: probeTimeoutMs, maxOutputBytes: 4096 })
      .catch(() => {});
  }
}

/** How each limit is enforced, from what the host has (see `LimitMechanism`). */
export function limitPlan(facts: SandboxFacts, limits: SandboxLimits, cgroupParent?: string): LimitPlan {
  const pids = () => {
    if (cgroupParent !== undefined) return "cgroup";
    if (facts.pidMaxPerNamespace && facts.setpriv !== undefined) return "pid-namespace";
    // Root is exempt from RLIMIT_NPROC (the kernel never applies it to uid 0); prlimit sets it.
    return facts.asRoot || facts.prlimit === undefined ? "none" : "rlimit";
  };
  // RLIMIT_AS and RLIMIT_CPU are set with the shell's own `ulimit`, which every host has.
  return {
    memory: limits.memoryBytes === null ? "off" : cgroupParent !== undefined ? "cgroup" : "rlimit",
    pids: limits.pids === null ? "off" : pids(),
    cpu: limits.cpuSeconds === null ? "off" : "rlimit",
  };
}

/** What is weaker than asked for, in words for /health and the log. */
function degraded(facts: SandboxFacts, plan: LimitPlan, limits: SandboxLimits): string[] {
  const notes: string[] = [];
  if (plan.pids === "none") {
    notes.push(
      facts.asRoot
        ? "pids not capped: the host runs as root, which RLIMIT_NPROC does not bind, the kernel is older than 6.14 (no per-namespace pid_max) or setpriv is missing, and no cgroup v2 with the pids controller is writable (tools.limits.cgroup)"
        : "pids not capped: prlimit (util-linux) is missing and no cgroup v2 with the pids controller is writable",
    );
  } else if (
    plan.pids === "pid-namespace" &&
    limits.pids !== null &&
    pidMaxFor(limits.pids) - 2 > limits.pids
  ) {
    notes.push(
      `pids capped at ${pidMaxFor(limits.pids) - 2}, the kernel's smallest pid_max, not ${limits.pids}`,
    );
  }
  return notes;
}

/** Runs the trial command in the sandbox it plans; ok when it ran and the limits took. */
async function runTrial(
  backend: Pick<ExecutionBackend, "exec">,
  facts: SandboxFacts,
  plan: LimitPlan,
  limits: SandboxLimits,
  probeDir: string,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const launcher = sandboxLauncher(facts, plan, {
    root: probeDir,
    cwd: probeDir,
    network: false,
    hidden: [],
    limits,
  });
  let result: Awaited<ReturnType<ExecutionBackend["exec"]>>;
  try {
    result = await backend.exec(`echo ${marker}; cat /proc/sys/kernel/pid_max`, {
      cwd: probeDir,
      timeoutMs: probeTimeoutMs,
      maxOutputBytes: 64 * 1024,
      launcher,
    });
  } catch (error) {
    return { ok: false, reason: messageOf(error) };
  }
  const lines = result.stdout.split("\n");
  if (result.exitCode !== 0 || lines[0] !== marker) {
    const why = result.stderr.trim().split("\n")[0] || `exit code ${result.exitCode ?? result.signal}`;
    const prelude = result.exitCode === PRELUDE_FAILED_EXIT ? " (setting the limits failed)" : "";
    return { ok: false, reason: `${why}${prelude}` };
  }
  if (plan.pids === "pid-namespace" && limits.pids !== null && lines[1] !== String(pidMaxFor(limits.pids))) {
    return { ok: false, reason: `pid_max reads ${lines[1]} in the sandbox, not ${pidMaxFor(limits.pids)}` };
  }
  return { ok: true };
}

/** For a host without root: what the kernel says about user namespaces, when they look switched off. */
function namespaceHint(found: Facts, facts: SandboxFacts): string {
  if (facts.asRoot) return "";
  const hints: string[] = [];
  if (found.get("userns_max") === "0") hints.push("user.max_user_namespaces is 0");
  if (found.get("userns_clone") === "0") hints.push("kernel.unprivileged_userns_clone is 0");
  return hints.length > 0 ? ` (user namespaces are off: ${hints.join(", ")})` : "";
}

/** The shell script that gathers the facts, one `key=value` line each. */
function factsScript(options: ProbeOptions): string {
  const hidden = options.hiddenPaths.map((path) =>
    path.startsWith("~/") ? `"$HOME"/${shellQuote(path.slice(2))}` : shellQuote(path),
  );
  return [
    `b=${shellQuote(options.binary)}`,
    `if ! p=$(command -v -- "$b"); then echo missing=1; exit 0; fi`,
    `case "$p" in /*) ;; *) echo missing=1; exit 0;; esac`,
    'echo "binary=$p"',
    'echo "uid=$(id -u)"',
    'echo "kernel=$(uname -r)"',
    'echo "home=$HOME"',
    'echo "setpriv=$(command -v setpriv)"',
    'echo "prlimit=$(command -v prlimit)"',
    'echo "version=$("$p" --version 2>&1 | head -n 1)"',
    'echo "userns_max=$(cat /proc/sys/user/max_user_namespaces 2>/dev/null)"',
    'echo "userns_clone=$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null)"',
    ...(hidden.length > 0
      ? [
          `for h in ${hidden.join(" ")}; do if [ -d "$h" ]; then echo "hidden_dir=$h"; elif [ -e "$h" ]; then echo "hidden_file=$h"; fi; done`,
        ]
      : []),
    'd=$(mktemp -d -t dispatch-sandbox-probe.XXXXXX) && echo "probe_dir=$d"',
  ].join("\n");
}

/** `key=value` lines; a key may repeat. */
class Facts {
  readonly #values = new Map<string, string[]>();
  constructor(text: string) {
    for (const line of text.split("\n")) {
      const eq = line.indexOf("=");
      if (eq <= 0) continue;
      const key = line.slice(0, eq);
      this.#values.set(key, [...(this.#values.get(key) ?? []), line.slice(eq + 1)]);
    }
  }
  get(key: string): string | undefined {
    return this.#values.get(key)?.[0];
  }
  getAll(key: string): string[] {
    return this.#values.get(key) ?? [];
  }
}

function parseFacts(text: string): Facts {
  return new Facts(text);
}

/** True when a kernel release string (`6.18.44-…`) is at least `major.minor`. */
export function kernelAtLeast(release: string, [major, minor]: readonly [number, number]): boolean {
  const match = /^(\d+)\.(\d+)/.exec(release);
  if (match === null) return false;
  const [a, b] = [Number(match[1]), Number(match[2])];
  return a > major || (a === major && b >= minor);
}
