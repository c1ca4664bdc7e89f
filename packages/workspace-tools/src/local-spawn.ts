import type { Readable, Writable } from "node:stream";
import type { ExecutionSession, SessionExit } from "./execution-session.ts";
import { defaultTuning, type LocalExecHost, type LocalExecTuning, startToolProcess } from "./local-exec.ts";
import { terminateGroup } from "./process-group.ts";
import { StreamInput } from "./session-input.ts";
import { createExecutionSession, spawnCancelledError } from "./session-lifecycle.ts";
import { DEFAULT_MAX_BUFFERED_BYTES, SessionOutput } from "./session-output.ts";

/** Options for `spawnLocal`; `cwd` has already been confined by the caller. */
export interface LocalSpawnOptions {
  cwd: string;
  env?: Record<string, string>;
  signal?: AbortSignal;
  maxBufferedBytes?: number;
}

/**
 * Starts `bash -c command` on this machine as a session in its own process group. When the shell
 * exits, whatever it left running in its group is ended too, as for `exec`; the output then ends
 * once the pipes close, or once they have been quiet for `drainMs` while read (a process that left
 * the group may hold them open). Rejects with Node's spawn error (a missing cwd is ENOENT).
 */
export async function spawnLocal(
  command: string,
  options: LocalSpawnOptions,
  tuning: LocalExecTuning = defaultTuning,
  host: LocalExecHost = {},
): Promise<ExecutionSession> {
  if (options.signal?.aborted) throw spawnCancelledError();
  const child = startToolProcess(command, {
    cwd: options.cwd,
    env: options.env,
    stdin: "pipe",
    secretEnvNames: host.secretEnvNames,
  });
  // Recorded while anything of the group may run, so a crashed host's successor can end it.
  const forget = child.pid === undefined ? () => {} : (host.records?.add(child.pid) ?? (() => {}));
  const stdin = child.stdin as Writable;
  const pipes: Array<["stdout" | "stderr", Readable]> = [
    ["stdout", child.stdout as Readable],
    ["stderr", child.stderr as Readable],
  ];

  let paused = false;
  let groupDone = false;
  let quiet: ReturnType<typeof setTimeout> | undefined;
  const cutPipes = () => {
    clearTimeout(quiet);
    for (const [, pipe] of pipes) pipe.destroy();
    output.end();
  };
  // Armed only after the group is gone and while the consumer takes output: then silence means
  // nothing in the group can write any more, and only an escaped process holds the pipe.
  const armQuiet = () => {
    clearTimeout(quiet);
    if (groupDone && !paused && !output.ended) quiet = setTimeout(cutPipes, tuning.drainMs);
  };
  const output = new SessionOutput(options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES, {
    pause() {
      paused = true;
      clearTimeout(quiet);
      for (const [, pipe] of pipes) pipe.pause();
    },
    resume() {
      paused = false;
      for (const [, pipe] of pipes) pipe.resume();
      armQuiet();
    },
  });
  const input = new StreamInput(stdin);

  let openPipes = pipes.length;
  for (const [name, pipe] of pipes) {
    pipe.on("data", (chunk: Buffer) => {
      output.push(name, chunk);
      if (groupDone) armQuiet();
    });
    pipe.on("error", () => {});
    pipe.once("close", () => {
      openPipes -= 1;
      if (openPipes === 0) {
        clearTimeout(quiet);
        output.end();
      }
    });
  }

  let resolveExited!: (exit: SessionExit) => void;
  const exited = new Promise<SessionExit>((resolve) => {
    resolveExited = resolve;
  });
  child.once("exit", (code, signal) => {
    input.close("the process has exited");
    const exit = { exitCode: code, signal };
    const pgid = child.pid;
    // The leader is gone; end anything it left in its group, then say so.
    void (pgid === undefined ? Promise.resolve() : terminateGroup(pgid, tuning.killGraceMs)).then(() => {
      forget();
      groupDone = true;
      armQuiet();
      resolveExited(exit);
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      forget();
      stdin.destroy();
      for (const [, pipe] of pipes) pipe.destroy();
      reject(error);
    };
    child.once("error", onError);
    child.once("spawn", () => {
      child.off("error", onError);
      resolve();
    });
  });
  // Node reports later failures (of `kill`, say) here; the session does not use them.
  child.on("error", () => {});
  const pgid = child.pid as number;

  return createExecutionSession({
    pgid,
    input,
    output,
    exited,
    signal: options.signal,
    async terminate(signal) {
      await terminateGroup(pgid, tuning.killGraceMs, signal);
    },
    release() {
      stdin.destroy();
      cutPipes();
    },
  });
}
