import { DispatchError, messageOf } from "@dispatch/kernel";
import {
  createExecutionSession,
  DEFAULT_MAX_BUFFERED_BYTES,
  type ExecResult,
  type ExecutionSession,
  type KillSignal,
  spawnCancelledError,
} from "@dispatch/workspace-tools";
import type { SFTPWrapper } from "ssh2";
import { type ChannelOutcome, runChannel } from "./channel-run.ts";
import { ChannelSession } from "./channel-session.ts";
import {
  type ChannelLease,
  ConnectionPool,
  type ConnectionPoolOptions,
  type PoolStats,
} from "./connection-pool.ts";
import { connectionLostError, queueTimeoutError } from "./pool-errors.ts";
import { buildRemoteCommand, killGroupCommand, terminateGroupCommand } from "./remote-command.ts";

/** Output kept per stream when the caller sets no cap. */
const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
/** Bound on the follow-up command that kills an interrupted command's process group. */
const KILL_TIMEOUT_MS = 10_000;
/** Time between a session's first signal and SIGKILL, as the local backend's default. */
const SESSION_KILL_GRACE_MS = 2_000;
/** How long a killed session's channel may take to report the end before it is closed. */
const SESSION_CLOSE_GRACE_MS = 2_000;

/** Options for `SshPool.exec`. */
export interface PoolExecOptions {
  /** Remote working directory; the login directory when absent. */
  cwd?: string;
  env?: Record<string, string>;
  /** Covers waiting for a channel and running; the host's `commandTimeoutMs` when absent. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Per stream (stdout and stderr each). */
  maxOutputBytes?: number;
  /** An argv the command's `bash -c` runs under on the host (the sandbox's bwrap). */
  launcher?: readonly string[];
}

/** Options for `SshPool.spawn`. */
export interface PoolSpawnOptions {
  /** Remote working directory; the login directory when absent. */
  cwd?: string;
  env?: Record<string, string>;
  /** Aborting kills the session's remote process group. */
  signal?: AbortSignal;
  /** Output held for a consumer that is not reading (see `SpawnOptions.maxBufferedBytes`). */
  maxBufferedBytes?: number;
  /** Bound on waiting for a channel and for the process to start; the host's `commandTimeoutMs` when absent. */
  startTimeoutMs?: number;
}

/** Options for `SshPool.run` (a raw script, no wrapper). */
export interface PoolRunOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  maxOutputBytes?: number;
  /** Jump the queue (used for clean-up commands that must not wait behind the work they clean up). */
  priority?: boolean;
}

const notRun: ExecResult = {
  exitCode: null,
  signal: null,
  stdout: "",
  stderr: "",
  truncated: false,
  timedOut: false,
};

/** An ended channel as an `ExecResult`: an interrupted run reports SIGKILL, like the local backend. */
function execResultOf(outcome: ChannelOutcome, timedOut: boolean): ExecResult {
  const interrupted = outcome.ending === "interrupted";
  return {
    exitCode: interrupted ? null : outcome.exitCode,
    signal: interrupted ? "SIGKILL" : outcome.signal,
    stdout: outcome.stdout,
    stderr: outcome.stderr,
    truncated: outcome.truncated,
    timedOut: interrupted && timedOut,
  };
}

/**
 * The pool for one host: commands over pooled exec channels and files over a reused sftp session.
 * Every failure is a DispatchError; nothing in it can raise an uncaught exception.
 */
export class SshPool {
  readonly #pool: ConnectionPool;
  readonly #logger: ConnectionPoolOptions["logger"];

  constructor(options: ConnectionPoolOptions) {
    this.#pool = new ConnectionPool(options);
    this.#logger = options.logger;
  }

  get hostId(): string {
    return this.#pool.hostId;
  }

  /**
   * Runs `command` with `bash -c` on the host, in `cwd`, in its own process group. Timeout and
   * abort kill the whole remote group (`exitCode: null, signal: "SIGKILL"`); an abort before the
   * start returns an empty result, like the local backend. Rejects with `unavailable` when no
   * channel can be had in time or the connection dies mid-command, `not_found` for a missing cwd.
   */
  async exec(command: string, options: PoolExecOptions = {}): Promise<ExecResult> {
    if (options.signal?.aborted) return { ...notRun };
    const cwd = options.cwd ?? ".";
    const script = buildRemoteCommand(
      command,
      cwd,
      options.env,
      options.launcher === undefined ? {} : { launcher: options.launcher },
    );
    let outcome: ChannelOutcome;
    let timedOut: boolean;
    try {
      ({ outcome, timedOut } = await this.#runScript(script, { ...options, expectPgid: true }));
    } catch (error) {
      if (options.signal?.aborted) return { ...notRun };
      throw error;
    }
    await outcome.killed;
    if (outcome.ending === "lost") throw connectionLostError(this.hostId, this.#pool.lastError);
    if (outcome.ending === "exited" && outcome.pgid === undefined) {
      const message = outcome.stderr.trim() || `exit code ${outcome.exitCode}`;
      const missing = /No such file|Not a directory/.test(message);
      throw new DispatchError(
        missing ? "not_found" : "io_error",
        `${cwd}: cannot run a command there: ${message}`,
        {
          details: { hostId: this.hostId, cwd },
        },
      );
    }
    return execResultOf(outcome, timedOut);
  }

  /**
   * Starts `command` with `bash -c` on the host as a long-lived session in `cwd`, in the process
   * group of its sshd session. The session holds one channel of the pool's budget until it ends;
   * `kill` signals the remote group through a second (priority) command, since closing the channel
   * alone leaves the process running. A lost connection ends the session (`exited` rejects with
   * `unavailable`) and the pool then tries to kill the group once it can reach the host. Rejects
   * with `unavailable` (no channel in time, breaker open), `not_found` (no such cwd) or `cancelled`.
   */
  async spawn(command: string, options: PoolSpawnOptions = {}): Promise<ExecutionSession> {
    if (options.signal?.aborted) throw spawnCancelledError();
    const cwd = options.cwd ?? ".";
    const script = buildRemoteCommand(command, cwd, options.env, { stdin: true });
    const { channel, pgid } = await this.#startSession(script, cwd, options);
    // A lost connection leaves the group running unowned: end it once the host can be reached again.
    void channel.exited.catch(() => this.#terminateGroup(pgid, "SIGTERM"));
    return createExecutionSession({
      pgid,
      input: channel.input,
      output: channel.output,
      exited: channel.exited,
      signal: options.signal,
      terminate: async (signal) => {
        await this.#terminateGroup(pgid, signal);
        // sshd reports the exit once the group is gone. The channel stays open for the output still
        // to be read (`close` ends it); only one that reports nothing is closed, so kill cannot hang.
        let wait: ReturnType<typeof setTimeout> | undefined;
        const reported = await Promise.race([
          channel.exited.then(
            () => true,
            () => true,
          ),
          new Promise<boolean>((resolve) => {
            wait = setTimeout(() => resolve(false), SESSION_CLOSE_GRACE_MS);
          }),
        ]);
        clearTimeout(wait);
        if (!reported) channel.close();
      },
      release: () => channel.close(),
    });
  }

  /**
   * Leases a channel for a session's wrapper and waits for its group id, both within the start
   * timeout. The lease is released when the channel is gone, so the session holds it for its life.
   * An abort while waiting for the channel rejects with `cancelled`; once the channel is open the
   * caller's session handles the abort (it kills what started).
   */
  async #startSession(
    script: string,
    cwd: string,
    options: PoolSpawnOptions,
  ): Promise<{ channel: ChannelSession; pgid: number }> {
    const timeoutMs = options.startTimeoutMs ?? this.#pool.config.commandTimeoutMs;
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
        reject(
          new DispatchError(
            "unavailable",
            `the session on host "${this.hostId}" did not start within ${timeoutMs} ms`,
            { details: { hostId: this.hostId, timeoutMs } },
          ),
        );
      }, timeoutMs);
    });
    deadline.catch(() => {});
    try {
      let lease: ChannelLease<ChannelSession>;
      try {
        lease = await this.#pool.lease(
          (connection) =>
            connection.openExec(
              script,
              (opened) =>
                new ChannelSession(opened, {
                  hostId: this.hostId,
                  cwd,
                  maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
                  onConnectionClosed: (listener) => connection.whenClosed(listener),
                  lostError: () => connectionLostError(this.hostId, this.#pool.lastError),
                }),
            ),
          { signal: controller.signal },
        );
      } catch (error) {
        if (timedOut) throw queueTimeoutError(this.hostId, timeoutMs, this.#pool.lastError);
        if (options.signal?.aborted) throw spawnCancelledError();
        throw error;
      }
      const channel = lease.value;
      void channel.closed.then(() => lease.release());
      options.signal?.removeEventListener("abort", onAbort);
      try {
        return { channel, pgid: await Promise.race([channel.started, deadline]) };
      } catch (error) {
        // Not started in time: should it start after all, it must not run on unowned.
        void channel.started.then(
          (pgid) => this.#terminateGroup(pgid, "SIGKILL"),
          () => {},
        );
        channel.close();
        throw error;
      }
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Runs `script` as is with the login shell (no cwd, no process-group handling); for short helpers. */
  async run(script: string, options: PoolRunOptions = {}): Promise<ExecResult> {
    const { outcome, timedOut } = await this.#runScript(script, { ...options, expectPgid: false });
    if (outcome.ending === "lost") throw connectionLostError(this.hostId, this.#pool.lastError);
    return execResultOf(outcome, timedOut);
  }

  /** Runs `fn` with the pool's sftp session, bounded by `timeoutMs` and by the connection's life. */
  async withSftp<T>(
    fn: (sftp: SFTPWrapper) => Promise<T>,
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<T> {
    const { connection, sftp } = await this.#pool.sftp(options.signal);
    const timeoutMs = options.timeoutMs ?? this.#pool.config.commandTimeoutMs;
    connection.busyOps += 1;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let unsubscribe: (() => void) | undefined;
    try {
      return await Promise.race([
        fn(sftp),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new DispatchError(
                  "unavailable",
                  `sftp operation on host "${this.hostId}" timed out after ${timeoutMs} ms`,
                ),
              ),
            timeoutMs,
          );
          unsubscribe = connection.whenClosed(() =>
            reject(connectionLostError(this.hostId, this.#pool.lastError)),
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      unsubscribe?.();
      connection.busyOps -= 1;
      connection.lastActivityAt = Date.now();
    }
  }

  /** Current state for health and metrics. */
  stats(): PoolStats {
    return this.#pool.stats();
  }

  /** Periodic upkeep (idle eviction, stuck connects, breaker); driven by the extension's single timer. */
  maintain(): void {
    this.#pool.maintain();
  }

  /** Ends every connection and fails what waits. */
  dispose(): Promise<void> {
    return this.#pool.dispose();
  }

  async #runScript(
    script: string,
    options: PoolRunOptions & { expectPgid: boolean },
  ): Promise<{ outcome: ChannelOutcome; timedOut: boolean }> {
    const timeoutMs = options.timeoutMs ?? this.#pool.config.commandTimeoutMs;
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DispatchError("timeout", `timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      let lease: ChannelLease<{ outcome: Promise<ChannelOutcome> }>;
      try {
        lease = await this.#pool.lease(
          (connection) =>
            connection.openExec(script, (channel) => ({
              // Wrapped so that awaiting the open does not wait for the whole run.
              outcome: runChannel(channel, {
                maxOutputBytes: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
                expectPgid: options.expectPgid,
                signal: controller.signal,
                onConnectionClosed: (listener) => connection.whenClosed(listener),
                killGroup: options.expectPgid ? (pgid) => this.#killGroup(pgid) : undefined,
              }),
            })),
          { signal: controller.signal, priority: options.priority },
        );
      } catch (error) {
        if (timedOut) throw queueTimeoutError(this.hostId, timeoutMs, this.#pool.lastError);
        throw error;
      }
      try {
        return { outcome: await lease.value.outcome, timedOut };
      } finally {
        lease.release();
      }
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Ends a session's remote group (`signal`, then SIGKILL); failures are logged, never thrown. */
  async #terminateGroup(pgid: number, signal: KillSignal): Promise<void> {
    try {
      await this.run(terminateGroupCommand(pgid, signal, SESSION_KILL_GRACE_MS), {
        timeoutMs: KILL_TIMEOUT_MS + SESSION_KILL_GRACE_MS,
        priority: true,
        maxOutputBytes: 4096,
      });
    } catch (error) {
      this.#logger?.warn("could not end a session's remote process group", {
        hostId: this.hostId,
        pgid,
        error: messageOf(error),
      });
    }
  }

  async #killGroup(pgid: number): Promise<void> {
    try {
      await this.run(killGroupCommand(pgid), {
        timeoutMs: KILL_TIMEOUT_MS,
        priority: true,
        maxOutputBytes: 4096,
      });
    } catch (error) {
      this.#logger?.warn("could not kill an interrupted command's process group", {
        hostId: this.hostId,
        pgid,
        error: messageOf(error),
      });
    }
  }
}
