import { type ChildProcess, spawn } from "node:child_process";
import type { ExecOptions, ExecResult } from "./backend.ts";
import { OutputCollector } from "./output-cap.ts";
import { terminateGroup } from "./process-group.ts";
import { scrubEnv } from "./scrub-env.ts";
import type { ToolProcessRecords } from "./tool-process-records.ts";

/** Tuning for `execLocal`; the defaults suit interactive tools. */
export interface LocalExecTuning {
  /** Time between SIGTERM and SIGKILL. */
  killGraceMs: number;
  /** How long to keep reading after the group is gone, for a pipe held by a process that left the group. */
  drainMs: number;
}

/** The tuning `execLocal` and `spawnLocal` use unless given one. */
export const defaultTuning: LocalExecTuning = { killGraceMs: 2000, drainMs: 500 };

/**
 * Starts `bash -c command` in `cwd` as the leader of a new process group (and session), with the
 * host's secrets scrubbed from its environment. `exec` and `spawn` both start their processes here,
 * so anything that must know every tool process group (recording it, say) hooks in once.
 */
export function startToolProcess(
  command: string,
  options: {
    cwd: string;
    env?: Record<string, string>;
    stdin: "ignore" | "pipe";
    secretEnvNames?: readonly string[];
    /** Runs `bash -c command` under this argv (a sandbox launcher). */
    launcher?: readonly string[];
  },
): ChildProcess {
  const argv = [...(options.launcher ?? []), "bash", "-c", command];
  return spawn(argv[0] as string, argv.slice(1), {
    cwd: options.cwd,
    env: { ...scrubEnv(process.env, options.secretEnvNames), ...options.env },
    detached: true,
    stdio: [options.stdin, "pipe", "pipe"],
  });
}

/** What the host adds to every local command. */
export interface LocalExecHost {
  /** Variable names kept out of the command's environment on top of the built-in patterns. */
  secretEnvNames?: readonly string[];
  /** Where the running process group is recorded, so a crashed host's successor can end it. */
  records?: ToolProcessRecords;
}

/**
 * Runs `bash -c command` on this machine in its own process group (and session). On timeout or
 * abort the whole group is terminated; when the shell exits, whatever it left running in its group
 * is terminated too, so nothing outlives the call. While it runs, its group is recorded in
 * `host.records`. Never rejects for the command's own failures.
 */
export function execLocal(
  command: string,
  options: ExecOptions,
  tuning: LocalExecTuning = defaultTuning,
  host: LocalExecHost = {},
): Promise<ExecResult> {
  const stdout = new OutputCollector(options.maxOutputBytes);
  const stderr = new OutputCollector(options.maxOutputBytes);
  return new Promise<ExecResult>((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ exitCode: null, signal: null, stdout: "", stderr: "", truncated: false, timedOut: false });
      return;
    }
    const child = startToolProcess(command, {
      cwd: options.cwd,
      env: options.env,
      stdin: "ignore",
      secretEnvNames: host.secretEnvNames,
      ...(options.launcher === undefined ? {} : { launcher: options.launcher }),
    });
    // Forgotten only once nothing of the group runs any more (or it never started).
    const forget = child.pid === undefined ? () => {} : (host.records?.add(child.pid) ?? (() => {}));
    let timedOut = false;
    let exit: { code: number | null; signal: string | null } | undefined;
    let terminating: Promise<unknown> | undefined;
    let streamsOpen = 2;
    let groupDone = false;
    let drainTimer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;

    const terminate = () => {
      if (terminating === undefined && child.pid !== undefined) {
        terminating = terminateGroup(child.pid, tuning.killGraceMs);
      }
      return terminating ?? Promise.resolve();
    };
    const onAbort = () => {
      void terminate();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      void terminate();
    }, options.timeoutMs);
    options.signal?.addEventListener("abort", onAbort, { once: true });

    const finish = () => {
      if (settled || exit === undefined) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(drainTimer);
      options.signal?.removeEventListener("abort", onAbort);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({
        exitCode: exit.code,
        signal: exit.signal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        truncated: stdout.truncated || stderr.truncated,
        timedOut,
      });
    };
    const maybeFinish = () => {
      if (streamsOpen === 0 && groupDone) finish();
    };

    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    for (const stream of [child.stdout, child.stderr]) {
      stream?.once("close", () => {
        streamsOpen--;
        maybeFinish();
      });
    }
    child.once("error", (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      forget();
      reject(error);
    });
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      // The shell is gone; end anything it left in its group, then wait for the pipes (bounded).
      void terminate().then(() => {
        forget();
        groupDone = true;
        maybeFinish();
        if (!settled) drainTimer = setTimeout(finish, tuning.drainMs);
      });
    });
  });
}
