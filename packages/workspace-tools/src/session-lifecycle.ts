import { DispatchError } from "@dispatch/kernel";
import type { ExecutionSession, KillSignal, SessionExit } from "./execution-session.ts";
import type { StreamInput } from "./session-input.ts";
import type { SessionOutput } from "./session-output.ts";

/** What a backend hands `createExecutionSession` once its process runs. */
export interface SessionParts {
  pgid: number;
  input: StreamInput;
  output: SessionOutput;
  /** Settles when the process has exited and its group has been cleaned up (rejects when lost). */
  exited: Promise<SessionExit>;
  /**
   * Ends the process group, `signal` first and SIGKILL after a grace period; resolves when done.
   * Must not reject. Called at most once.
   */
  terminate(signal: KillSignal): Promise<void>;
  /** Frees the pipes or channel after the session is over (or is being closed). Must not throw. */
  release(): void;
  /** Aborting it kills the session. */
  signal?: AbortSignal;
}

/** The error for a spawn whose signal was aborted before it started. */
export function spawnCancelledError(): DispatchError {
  return new DispatchError("cancelled", "the session was not started: its signal was already aborted");
}

/**
 * The part of a session every backend shares: `kill` once and wait for the end, the abort signal,
 * `close` and async disposal. The backend supplies the process-specific parts.
 */
export function createExecutionSession(parts: SessionParts): ExecutionSession {
  let over = false;
  let killing: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  // Settled either way: `kill` and `close` wait for the end but never rethrow a lost session.
  const ended = parts.exited.then(
    () => {},
    () => {},
  );
  const onAbort = () => {
    void session.kill();
  };
  void ended.then(() => {
    over = true;
    parts.signal?.removeEventListener("abort", onAbort);
  });

  const session: ExecutionSession = {
    pgid: parts.pgid,
    stdin: parts.input,
    output: parts.output,
    get bufferedBytes() {
      return parts.output.bufferedBytes;
    },
    exited: parts.exited,
    kill(signal = "SIGTERM") {
      if (over) return Promise.resolve();
      killing ??= parts.terminate(signal).then(() => ended);
      return killing;
    },
    close() {
      closing ??= session.kill().then(() => {
        parts.signal?.removeEventListener("abort", onAbort);
        parts.output.discard();
        parts.input.close("the session was closed");
        parts.release();
      });
      return closing;
    },
    [Symbol.asyncDispose]: () => session.close(),
  };
  // Marks the rejection as handled: a consumer that only reads the output must not crash the host.
  parts.exited.catch(() => {});
  if (parts.signal?.aborted) onAbort();
  else parts.signal?.addEventListener("abort", onAbort, { once: true });
  return session;
}
