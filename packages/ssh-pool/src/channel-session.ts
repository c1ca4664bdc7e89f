import { DispatchError } from "@dispatch/kernel";
import { OutputCollector, type SessionExit, SessionOutput, StreamInput } from "@dispatch/workspace-tools";
import type { ClientChannel } from "ssh2";
import { PgidMarkerReader } from "./pgid-marker.ts";

/** How long a channel we closed may take to confirm before it counts as closed anyway. */
const CLOSE_GRACE_MS = 2_000;
/** stderr kept for the message when the wrapper fails before the command starts. */
const START_ERROR_BYTES = 4096;

/** Options for `ChannelSession`. */
export interface ChannelSessionOptions {
  hostId: string;
  /** The remote working directory, for the error when it cannot be entered. */
  cwd: string;
  maxBufferedBytes: number;
  /** Subscribes to the loss of the connection under the channel; returns the unsubscribe function. */
  onConnectionClosed(listener: () => void): () => void;
  /** The error for a lost connection (it names the host and the last connection error). */
  lostError(): DispatchError;
}

/**
 * One exec channel running a session's wrapper (`buildRemoteCommand` with `stdin`): it reads the
 * process-group marker, feeds stdout and stderr into a bounded `SessionOutput` (pausing the channel,
 * and so the SSH window, when it is full), and reports the exit. It owns the channel until `closed`.
 */
export class ChannelSession {
  readonly output: SessionOutput;
  readonly input: StreamInput;
  /** Resolves with the remote process group once the command runs; rejects when it never will. */
  readonly started: Promise<number>;
  /** Settles on the exit status, or when the channel ends without one; rejects when the connection is lost. */
  readonly exited: Promise<SessionExit>;
  /** Resolves when the channel is gone (closed, or its connection lost); then its slot may be reused. */
  readonly closed: Promise<void>;
  readonly #channel: ClientChannel;
  readonly #options: ChannelSessionOptions;
  readonly #marker = new PgidMarkerReader();
  readonly #startError = new OutputCollector(START_ERROR_BYTES);
  readonly #unsubscribe: () => void;
  #resolveStarted!: (pgid: number) => void;
  #rejectStarted!: (error: unknown) => void;
  #resolveExited!: (exit: SessionExit) => void;
  #rejectExited!: (error: unknown) => void;
  #resolveClosed!: () => void;
  #exit: SessionExit | undefined;
  #openStreams = 2;
  #done = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(channel: ClientChannel, options: ChannelSessionOptions) {
    this.#channel = channel;
    this.#options = options;
    this.started = new Promise((resolve, reject) => {
      this.#resolveStarted = resolve;
      this.#rejectStarted = reject;
    });
    this.exited = new Promise((resolve, reject) => {
      this.#resolveExited = resolve;
      this.#rejectExited = reject;
    });
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    // Whoever awaits these sees the rejection; until then it must not count as unhandled.
    this.started.catch(() => {});
    this.exited.catch(() => {});

    this.output = new SessionOutput(options.maxBufferedBytes, {
      pause: () => {
        channel.pause();
        channel.stderr.pause();
      },
      resume: () => {
        channel.resume();
        channel.stderr.resume();
      },
    });
    this.input = new StreamInput(channel);

    channel.on("data", (chunk: Buffer) => this.output.push("stdout", chunk));
    channel.stderr.on("data", (chunk: Buffer) => this.#onStderr(chunk));
    // ssh2 emits `end` only once a paused stream's buffer has been read, so no output is lost here.
    channel.once("end", () => this.#streamEnded());
    channel.stderr.once("end", () => this.#streamEnded());
    channel.on("exit", (code: number | null, signal?: string) => {
      this.#exit = {
        exitCode: typeof code === "number" ? code : null,
        signal: typeof signal === "string" ? signal : null,
      };
      this.input.close("the process has exited");
      this.#resolveExited(this.#exit);
    });
    channel.on("close", () => this.#finish(false));
    this.#unsubscribe = options.onConnectionClosed(() => this.#finish(true));
  }

  /** Closes the channel (once); if the server does not confirm within a grace period, it counts as closed. */
  close(): void {
    if (this.#done || this.#closeTimer !== undefined) return;
    try {
      this.#channel.close();
    } catch {
      // Already closed.
    }
    this.#closeTimer = setTimeout(() => this.#finish(false), CLOSE_GRACE_MS);
  }

  #onStderr(chunk: Buffer): void {
    if (this.#marker.done) {
      this.#stderr(chunk);
      return;
    }
    const rest = this.#marker.feed(chunk);
    if (this.#marker.done && this.#marker.pgid !== undefined) this.#resolveStarted(this.#marker.pgid);
    if (rest.length > 0) this.#stderr(rest);
  }

  /** Ordinary stderr: the session's once it runs, the start failure's message before. */
  #stderr(chunk: Buffer): void {
    if (this.#marker.pgid === undefined) this.#startError.push(chunk);
    else this.output.push("stderr", chunk);
  }

  #streamEnded(): void {
    this.#openStreams -= 1;
    if (this.#openStreams === 0) this.output.end();
  }

  #finish(lost: boolean): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#closeTimer);
    this.#unsubscribe();
    const error = lost && this.#exit === undefined ? this.#options.lostError() : undefined;
    this.#rejectStarted(error ?? this.#startFailure());
    this.input.close(error?.message ?? "the channel has closed");
    this.output.end(error);
    if (error !== undefined) this.#rejectExited(error);
    else this.#resolveExited(this.#exit ?? { exitCode: null, signal: null });
    this.#resolveClosed();
  }

  /** Why the wrapper stopped before the command: it could not enter `cwd` (or some other failure). */
  #startFailure(): DispatchError {
    const { hostId, cwd } = this.#options;
    const message = this.#startError.text().trim() || `exit code ${this.#exit?.exitCode ?? "unknown"}`;
    const missing = /No such file|Not a directory/.test(message);
    return new DispatchError(
      missing ? "not_found" : "io_error",
      `${cwd}: cannot start a session there: ${message}`,
      { details: { hostId, cwd } },
    );
  }
}
