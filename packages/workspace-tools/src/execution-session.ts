/**
 * The contract of a long-lived process on an execution backend (`ExecutionBackend.spawn`). Types
 * only; see the package README's "Execution sessions" for the rules in one place.
 */

/** Options for `spawn`. */
export interface SpawnOptions {
  /** The workspace root on the backend's machine: `cwd` must lie within it (symlinks resolved there). */
  root: string;
  /** Working directory, relative to `root` or absolute within it; `root` itself when absent. */
  cwd?: string;
  /** Added over the host's environment, which has its secrets scrubbed first (as for `exec`). */
  env?: Record<string, string>;
  /** Aborting kills the session's process group, as `kill()` does. */
  signal?: AbortSignal;
  /**
   * Output held for a consumer that is not reading (default 1 MiB). At the bound the backend stops
   * reading the process's pipes, so the process blocks on its next write as on a full pipe.
   */
  maxBufferedBytes?: number;
}

/** Which of the process's streams a chunk came from. */
export type OutputStream = "stdout" | "stderr";

/** A piece of output, as the backend read it (no line splitting, no decoding). */
export interface OutputChunk {
  stream: OutputStream;
  data: Uint8Array;
}

/** How the session's process ended. */
export interface SessionExit {
  /** The exit code, or null when a signal ended the process. */
  exitCode: number | null;
  /** The signal that ended it (`SIGTERM`, `SIGKILL`, …), or null. */
  signal: string | null;
}

/** The signals `kill` may start with; whatever survives it gets SIGKILL after the backend's grace period. */
export type KillSignal = "SIGTERM" | "SIGINT" | "SIGHUP" | "SIGQUIT" | "SIGKILL";

/** The process's stdin. */
export interface SessionInput {
  /**
   * Writes text (as UTF-8) or bytes; resolves once the backend has handed them on (a process that
   * does not read its stdin holds the promise, so awaiting each write bounds memory). Rejects with
   * `session_ended` once the process is gone, `invalid_request` after `end()`.
   */
  write(data: string | Uint8Array): Promise<void>;
  /** Closes stdin (the process reads end-of-file). Idempotent; resolves at once when the session is over. */
  end(): Promise<void>;
}

/**
 * A process started by `spawn`, the leader of its own process group (remote: the process group of
 * its sshd session). Whoever spawns it owns it and must `close()` it (or `await using` it).
 */
export interface ExecutionSession extends AsyncDisposable {
  /** The process group id on the backend's machine (the leader's pid). */
  readonly pgid: number;
  readonly stdin: SessionInput;
  /**
   * stdout and stderr chunks in the order they were read, ending when both pipes close (or, once
   * the group has ended, when nothing more comes: a process that left the group cannot hold it
   * open). Read by one loop at a time; a later loop continues where an earlier one stopped.
   * Throws the session's error (such as a lost connection) after the chunks read before it.
   */
  readonly output: AsyncIterable<OutputChunk>;
  /** Output bytes held for the consumer right now (bounded by `maxBufferedBytes` plus one read). */
  readonly bufferedBytes: number;
  /**
   * Settles when the process has exited and what it left running in its group has been ended.
   * Rejects (`unavailable`) when the backend lost the process, as when an SSH connection dies.
   */
  readonly exited: Promise<SessionExit>;
  /**
   * Ends the whole process group: `signal` (default SIGTERM) to every member, then SIGKILL to what
   * remains after the grace period. Resolves once the session is over; a no-op once it is. Never rejects.
   */
  kill(signal?: KillSignal): Promise<void>;
  /** Kills the group if it still runs, drops unread output and releases pipes or channel. Idempotent. */
  close(): Promise<void>;
}
