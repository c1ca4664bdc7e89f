import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { DispatchError, type Logger, messageOf } from "@dispatch/kernel";
import type { Workspace } from "@dispatch/wire";
import type { ExecutionBackend } from "../backend.ts";
import type { SandboxLimits, ToolsConfig } from "../config.ts";
import { pidMaxFor, sandboxLauncher } from "./bwrap-launcher.ts";
import { type CallCgroup, createCallCgroup, findCgroupParent } from "./cgroup-limits.ts";
import type { LimitPlan, SandboxProbe } from "./sandbox-facts.ts";
import { probeSandbox } from "./sandbox-probe.ts";

/** How one `bash` call runs: under a sandbox launcher, or unconfined. */
export interface SandboxedCall {
  /** argv the call's `bash -c` runs under; undefined: unconfined. */
  launcher: readonly string[] | undefined;
  /** A line for the model explaining the sandbox, shown with a failed command's result. */
  note: string | undefined;
  /** Frees what the call held (its cgroup); never rejects. */
  release(): Promise<void>;
}

/** What `bash` asks of the sandbox; tests and hosts without bwrap use `unconfinedSandbox`. */
export interface ToolSandbox {
  /** How a call in `workspace` (root's real path `root`, cwd `cwd`) runs; throws `sandbox_unavailable` when it must not. */
  prepare(workspace: Workspace, backend: ExecutionBackend, root: string, cwd: string): Promise<SandboxedCall>;
}

const unconfined: SandboxedCall = { launcher: undefined, note: undefined, release: async () => {} };

/** A sandbox that never confines (`tools.sandbox: none`, and tests of the tools themselves). */
export const unconfinedSandbox: ToolSandbox = { prepare: async () => unconfined };

/** The settings of `Sandboxes`, from the `tools` config. */
export type SandboxSettings = Pick<
  ToolsConfig,
  "sandbox" | "sandboxBinary" | "network" | "limits" | "hiddenPaths"
> & {
  /** Local paths hidden as well (the host's data directory), beside `hiddenPaths`. */
  hiddenLocally: readonly string[];
  /** A local empty file with mode 000, mounted over hidden files (see `SandboxCall.filePlaceholder`). */
  filePlaceholder?: string;
};

/** One host's probe as /health shows it. */
type HostState =
  | { state: "probing" }
  | { state: "unknown"; reason: string }
  | { state: "done"; probe: SandboxProbe };

/**
 * The sandbox of `bash` on every host (DESIGN §15): probes each host once (the local one at start-up,
 * a remote one on first use; one it cannot reach is probed again next time), then builds each call's
 * bubblewrap launcher. `auto` runs unconfined where the probe failed, `required` refuses there.
 */
export class Sandboxes implements ToolSandbox {
  readonly #settings: SandboxSettings;
  readonly #logger: Logger;
  readonly #probes = new Map<string, Promise<SandboxProbe>>();
  readonly #states = new Map<string, HostState>();

  constructor(settings: SandboxSettings, logger: Logger) {
    this.#settings = settings;
    this.#logger = logger;
  }

  /** The host's probe, made once (concurrent callers share it); rejects when the host cannot be reached. */
  probe(backend: ExecutionBackend): Promise<SandboxProbe> {
    const hostId = backend.id;
    let probe = this.#probes.get(hostId);
    if (probe === undefined) {
      this.#states.set(hostId, { state: "probing" });
      probe = this.#runProbe(backend);
      this.#probes.set(hostId, probe);
      probe.then(
        (result) => {
          this.#states.set(hostId, { state: "done", probe: result });
          this.#report(hostId, result);
        },
        (error: unknown) => {
          // Unreachable is not an answer about the sandbox: ask again on the next call.
          this.#probes.delete(hostId);
          this.#states.set(hostId, { state: "unknown", reason: messageOf(error) });
          this.#logger.warn("could not probe the bash sandbox on a host", { hostId, err: error });
        },
      );
    }
    return probe;
  }

  async prepare(
    workspace: Workspace,
    backend: ExecutionBackend,
    root: string,
    cwd: string,
  ): Promise<SandboxedCall> {
    const { sandbox: mode } = this.#settings;
    if (mode === "none") return unconfined;
    let probe: SandboxProbe;
    try {
      probe = await this.probe(backend);
    } catch (error) {
      if (mode === "required") throw refusal(backend.id, `it could not be probed: ${messageOf(error)}`);
      return unconfined;
    }
    if (probe.state !== "ready" || probe.facts === undefined || probe.limits === undefined) {
      if (mode === "required") throw refusal(backend.id, probe.reason ?? "the probe failed");
      return unconfined;
    }
    const network = workspace.network ?? this.#settings.network;
    const local = backend.id === "local";
    const hidden = local ? await this.#localHidden(probe) : (probe.hiddenExisting ?? []);
    const binds = local ? await worktreeBinds(root) : [];
    let cgroup: CallCgroup | undefined;
    if (probe.cgroupParent !== undefined)
      cgroup = await createCallCgroup(probe.cgroupParent, this.#settings.limits);
    const launcher = sandboxLauncher(probe.facts, probe.limits, {
      root,
      cwd,
      network,
      hidden,
      limits: this.#settings.limits,
      ...(cgroup === undefined ? {} : { cgroupProcs: cgroup.procs }),
      ...(local && this.#settings.filePlaceholder !== undefined
        ? { filePlaceholder: this.#settings.filePlaceholder }
        : {}),
      ...(binds.length > 0 ? { binds } : {}),
    });
    return {
      launcher,
      note: sandboxNote(network, probe.limits, this.#settings.limits),
      release: async () => {
        await cgroup?.release();
      },
    };
  }

  /** Every probed host's state, for /health. */
  health(): Record<string, unknown> {
    const hosts: Record<string, unknown> = {};
    for (const [hostId, state] of this.#states) hosts[hostId] = this.#describe(state);
    return { mode: this.#settings.sandbox, hosts };
  }

  #describe(state: HostState): Record<string, unknown> {
    const mode = this.#settings.sandbox;
    if (state.state === "probing") return { state: "probing" };
    if (state.state === "unknown") {
      return { state: "unknown", bash: mode === "required" ? "refused" : "unconfined", reason: state.reason };
    }
    const { probe } = state;
    const ready = probe.state === "ready";
    return {
      state: probe.state,
      bash: ready ? "sandboxed" : mode === "required" ? "refused" : "unconfined",
      ...(probe.reason === undefined ? {} : { reason: probe.reason }),
      ...(probe.facts === undefined ? {} : { binary: probe.facts.binary }),
      ...(probe.version === undefined ? {} : { version: probe.version }),
      ...(probe.limits === undefined ? {} : { limits: describeLimits(probe.limits, this.#settings.limits) }),
      ...(probe.cgroupParent === undefined ? {} : { cgroup: probe.cgroupParent }),
      ...(probe.cgroupReason === undefined ? {} : { cgroupUnused: probe.cgroupReason }),
      checkedAt: probe.checkedAt,
      probeMs: probe.durationMs,
    };
  }

  async #runProbe(backend: ExecutionBackend): Promise<SandboxProbe> {
    const local = backend.id === "local";
    const { limits, sandboxBinary, hiddenPaths } = this.#settings;
    return probeSandbox(backend, {
      binary: sandboxBinary,
      limits,
      hiddenPaths: local ? [] : hiddenPaths,
      ...(local ? { cgroup: await findCgroupParent(limits.cgroup) } : {}),
    });
  }

  /** Local hidden paths that exist now (checked per call: a directory made since is hidden too). */
  async #localHidden(probe: SandboxProbe): Promise<Array<{ path: string; directory: boolean }>> {
    const home = probe.facts?.home;
    const paths = [
      ...this.#settings.hiddenPaths.flatMap((path) =>
        path.startsWith("~/") ? (home === undefined ? [] : [`${home}/${path.slice(2)}`]) : [path],
      ),
      ...this.#settings.hiddenLocally,
    ];
    const found = await Promise.all(
      paths.map(async (path) => {
        const info = await stat(path).catch(() => undefined);
        return info === undefined ? [] : [{ path, directory: info.isDirectory() }];
      }),
    );
    return found.flat();
  }

  #report(hostId: string, probe: SandboxProbe): void {
    const mode = this.#settings.sandbox;
    if (probe.state === "ready") {
      this.#logger.info("bash runs in the sandbox", {
        hostId,
        binary: probe.facts?.binary,
        version: probe.version,
        limits: probe.limits,
        ...(probe.reason === undefined ? {} : { degraded: probe.reason }),
        probeMs: probe.durationMs,
      });
    } else if (mode === "required") {
      this.#logger.error("bash is refused: tools.sandbox is required and the sandbox cannot run", {
        hostId,
        reason: probe.reason,
      });
    } else {
      this.#logger.warn("bash runs unconfined: the sandbox cannot run (tools.sandbox is auto)", {
        hostId,
        reason: probe.reason,
      });
    }
  }
}

/**
 * For a root that is a git worktree (its `.git` is a file: `gitdir: <repo>/.git/worktrees/<name>`):
 * the repository's `.git` read-only and the worktree's own admin directory (its index and HEAD)
 * read-write, so `git status`, `diff` and `log` work in the sandbox even when the repository is
 * under a hidden path (the data directory holds default roots). Objects and refs stay read-only:
 * the host commits a run's work itself. Nothing for an ordinary root.
 */
async function worktreeBinds(root: string): Promise<Array<{ path: string; writable: boolean }>> {
  const dotGit = await readFile(resolve(root, ".git"), "utf8").catch(() => undefined);
  const match = dotGit === undefined ? null : /^gitdir: (.+)$/m.exec(dotGit);
  if (match === null) return [];
  const gitDir = resolve(root, (match[1] as string).trim());
  const common = await readFile(resolve(gitDir, "commondir"), "utf8").catch(() => undefined);
  const commonDir = common === undefined ? undefined : resolve(gitDir, common.trim());
  const exists = async (path: string) => (await stat(path).catch(() => undefined))?.isDirectory() === true;
  const binds: Array<{ path: string; writable: boolean }> = [];
  if (commonDir !== undefined && (await exists(commonDir))) binds.push({ path: commonDir, writable: false });
  if (await exists(gitDir)) binds.push({ path: gitDir, writable: true });
  return binds;
}

function refusal(hostId: string, reason: string): DispatchError {
  return new DispatchError(
    "sandbox_unavailable",
    `bash was not run: tools.sandbox is "required" and the sandbox is not available on host "${hostId}": ${reason}`,
    { details: { hostId } },
  );
}

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

function bytes(n: number): string {
  return n % GiB === 0 ? `${n / GiB} GiB` : `${Math.round(n / MiB)} MiB`;
}

/** The process cap a call really gets: a PID namespace cannot go below the kernel's smallest pid_max. */
function effectivePids(plan: LimitPlan, pids: number): number {
  return plan.pids === "pid-namespace" ? pidMaxFor(pids) - 2 : pids;
}

/** Each limit as /health states it: the value and how it is enforced. */
function describeLimits(plan: LimitPlan, limits: SandboxLimits): Record<string, string> {
  const how = (mechanism: string, value: string | undefined) =>
    mechanism === "off" || value === undefined
      ? "off"
      : mechanism === "none"
        ? `${value}, not enforced`
        : `${value} (${mechanism})`;
  return {
    memory: how(plan.memory, limits.memoryBytes === null ? undefined : bytes(limits.memoryBytes)),
    pids: how(plan.pids, limits.pids === null ? undefined : String(effectivePids(plan, limits.pids))),
    cpuSeconds: how(plan.cpu, limits.cpuSeconds === null ? undefined : String(limits.cpuSeconds)),
  };
}

/** What the model is told about the sandbox when a command fails, so it can tell why. */
function sandboxNote(network: boolean, plan: LimitPlan, limits: SandboxLimits): string {
  const caps: string[] = [];
  if (plan.memory !== "off" && plan.memory !== "none" && limits.memoryBytes !== null)
    caps.push(`${bytes(limits.memoryBytes)} of memory${plan.memory === "rlimit" ? " per process" : ""}`);
  if (plan.pids !== "off" && plan.pids !== "none" && limits.pids !== null)
    caps.push(`${effectivePids(plan, limits.pids)} processes`);
  if (plan.cpu !== "off" && plan.cpu !== "none" && limits.cpuSeconds !== null)
    caps.push(`${limits.cpuSeconds} CPU seconds per process`);
  return (
    "[sandbox: only the workspace root is writable (elsewhere: read-only file system); /tmp is private to this call; " +
    `${network ? "the network is available" : "no network"}; processes left running end with the call` +
    `${caps.length > 0 ? `; limits: ${caps.join(", ")}` : ""}]`
  );
}
