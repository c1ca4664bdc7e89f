import { DispatchError, messageOf } from "@dispatch/kernel";
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from "ssh2";
import { ChannelBudget } from "./channel-budget.ts";
import type { HostConfig } from "./config.ts";
import { connectError } from "./connect-error.ts";
import { connectOptions } from "./connect-options.ts";
import { hostKeyProblem } from "./host-key-check.ts";

/** Lifecycle of one SSH connection. */
export type ConnectionState = "connecting" | "ready" | "closed";

/** What a connection tells its pool. */
export interface ConnectionEvents {
  /** Called exactly once, when the client has closed; `error` is why, unless the pool closed it. */
  onClosed(connection: SshConnection, error: DispatchError | undefined): void;
  /** A channel slot held by the connection itself (its sftp session) was freed. */
  onSlotFreed(connection: SshConnection): void;
}

let nextId = 1;

/**
 * One ssh2 client. It has a permanent `error` listener from construction until after `close`
 * (ssh2 can emit a second error after the first), verifies the host key against the configured
 * fingerprint, and never throws out of an ssh2 callback. Its channel accounting (`slots`) is
 * read and written by the pool.
 */
export class SshConnection {
  readonly id = nextId++;
  readonly startedAt: number;
  state: ConnectionState = "connecting";
  /** Channels granted and allowed on this connection. */
  readonly slots: ChannelBudget;
  /** sftp operations in flight (they share the session's slot, but keep the connection from idling out). */
  busyOps = 0;
  lastActivityAt: number;
  readonly #client = new Client();
  readonly #config: HostConfig;
  readonly #events: ConnectionEvents;
  #hostKeyError: DispatchError | undefined;
  #firstError: DispatchError | undefined;
  #closing = false;
  #sftp: Promise<SFTPWrapper> | undefined;
  #settleConnect: ((error: DispatchError | undefined) => void) | undefined;
  readonly #closed: Promise<void>;
  readonly #closeListeners = new Set<() => void>();
  #resolveClosed!: () => void;

  constructor(config: HostConfig, events: ConnectionEvents, now: number) {
    this.#config = config;
    this.#events = events;
    this.slots = new ChannelBudget(config.maxChannelsPerConnection);
    this.startedAt = now;
    this.lastActivityAt = now;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    // Permanent: never removed, so a late second `error` from ssh2 always has a listener.
    this.#client.on("error", (error: Error) => this.#onError(error));
    this.#client.on("close", () => this.#onClose());
    this.#client.on("ready", () => {
      if (this.state !== "connecting") return;
      this.state = "ready";
      // Commands are small request/response exchanges: Nagle's algorithm would only add latency.
      safely(() => this.#client.setNoDelay(true));
      this.#settle(undefined);
    });
  }

  /** True when the pool may grant another channel on this connection. */
  get hasRoom(): boolean {
    return this.state === "ready" && !this.#closing && this.slots.hasRoom;
  }

  /** True when an sftp session is open or opening; its operations need no extra slot. */
  get hasSftp(): boolean {
    return this.#sftp !== undefined && this.state === "ready";
  }

  /** Resolves once the client has closed. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Calls `listener` once when the client closes (soon, if it already has); returns the unsubscribe function. */
  whenClosed(listener: () => void): () => void {
    if (this.state === "closed") {
      queueMicrotask(listener);
      return () => {};
    }
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  /** Connects and authenticates; rejects with a DispatchError (never throws synchronously). */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#settleConnect = (error) => (error ? reject(error) : resolve());
      let options: ConnectConfig;
      try {
        options = connectOptions(this.#config, (key: Buffer) => {
          this.#hostKeyError = hostKeyProblem(this.#config, key);
          return this.#hostKeyError === undefined;
        });
      } catch (error) {
        this.#fail(DispatchError.isInstance(error) ? error : connectError(this.#config, error, 0));
        return;
      }
      try {
        this.#client.connect(options);
      } catch (error) {
        // ssh2 throws synchronously for unparsable keys; then no `close` will ever come.
        this.#fail(
          new DispatchError("invalid_config", `host "${this.#config.id}": ${messageOf(error)}`, {
            cause: error,
          }),
        );
      }
    });
  }

  /** Fails a connection stuck in `connecting` past `deadline` (a backstop for ssh2's own ready timeout). */
  expireIfStuck(now: number, deadline: number): void {
    if (this.state === "connecting" && now - this.startedAt > deadline) {
      this.#fail(
        connectError(this.#config, Object.assign(new Error("stuck"), { level: "client-timeout" }), deadline),
      );
    }
  }

  /**
   * Opens an exec channel running `command` and hands it to `start` inside ssh2's callback, so
   * `start` attaches its listeners before ssh2 can emit anything else on the channel (an `exit`
   * arriving in the same packet batch would otherwise be lost). Rejects with ssh2's error (see
   * `isChannelRefusal`).
   */
  openExec<T>(command: string, start: (channel: ClientChannel) => T): Promise<T> {
    return new Promise((resolve, reject) => {
      try {
        this.#client.exec(command, (error, channel) => {
          if (error) {
            reject(error);
            return;
          }
          // A Duplex may emit `error`; an unheard one would be an uncaught exception.
          channel.on("error", () => {});
          channel.stderr.on("error", () => {});
          if (this.state === "closed") {
            safely(() => channel.close());
            reject(new Error("No response from server"));
            return;
          }
          try {
            resolve(start(channel));
          } catch (startError) {
            safely(() => channel.close());
            reject(startError);
          }
        });
      } catch (error) {
        reject(error);
      }
    });
  }

  /**
   * The connection's sftp session, opened on first use and reused; it keeps one channel slot for
   * as long as it is open. Called by the pool while it holds a lease on this connection.
   */
  sftp(): Promise<SFTPWrapper> {
    if (this.#sftp) return this.#sftp;
    const opening = new Promise<SFTPWrapper>((resolve, reject) => {
      try {
        this.#client.sftp((error, sftp) => {
          if (error) {
            reject(error);
            return;
          }
          sftp.on("error", () => {});
          sftp.on("close", () => this.#dropSftp(opening));
          if (this.state === "closed") {
            reject(new Error("No response from server"));
            return;
          }
          this.slots.sftpHeld = true;
          resolve(sftp);
        });
      } catch (error) {
        reject(error);
      }
    });
    this.#sftp = opening;
    opening.catch(() => this.#dropSftp(opening));
    return opening;
  }

  /** Ends the connection gracefully; `closed` resolves when ssh2 reports the close. */
  close(): void {
    if (this.#closing || this.state === "closed") return;
    this.#closing = true;
    if (this.state === "connecting")
      this.#settle(new DispatchError("unavailable", "connection closed by the pool"));
    safely(() => this.#client.end());
  }

  /** Drops the socket at once (for shutdown after a grace period). */
  destroy(): void {
    this.#closing = true;
    safely(() => this.#client.destroy());
    // A client that never got a socket emits no `close`; finish its bookkeeping here.
    if (this.state === "connecting") this.#fail(new DispatchError("unavailable", "connection destroyed"));
  }

  #dropSftp(session: Promise<SFTPWrapper>): void {
    if (this.#sftp !== session) return;
    this.#sftp = undefined;
    if (this.slots.sftpHeld) {
      this.slots.sftpHeld = false;
      this.#events.onSlotFreed(this);
    }
  }

  #onError(error: Error): void {
    const mapped =
      this.#hostKeyError ??
      (this.state === "connecting"
        ? connectError(this.#config, error, this.#config.connectTimeoutMs)
        : new DispatchError(
            "unavailable",
            `connection to host "${this.#config.id}" failed: ${messageOf(error)}`,
            {
              cause: error,
              details: { hostId: this.#config.id },
            },
          ));
    this.#firstError ??= mapped;
    if (this.state === "connecting") this.#fail(mapped);
  }

  #fail(error: DispatchError): void {
    this.#firstError ??= error;
    this.#settle(error);
    if (this.state !== "closed") {
      safely(() => this.#client.end());
      safely(() => this.#client.destroy());
    }
    // A client that never opened a socket emits no `close`: finish here; `#onClose` is idempotent.
    this.#onClose();
  }

  #settle(error: DispatchError | undefined): void {
    const settle = this.#settleConnect;
    this.#settleConnect = undefined;
    settle?.(error);
  }

  #onClose(): void {
    if (this.state === "closed") return;
    const wasClosing = this.#closing;
    this.state = "closed";
    const error =
      this.#firstError ??
      (wasClosing
        ? undefined
        : new DispatchError("unavailable", `connection to host "${this.#config.id}" closed unexpectedly`));
    this.#settle(error ?? new DispatchError("unavailable", "connection closed before it was ready"));
    this.#sftp = undefined;
    this.slots.sftpHeld = false;
    this.#resolveClosed();
    const listeners = [...this.#closeListeners];
    this.#closeListeners.clear();
    for (const listener of listeners) listener();
    this.#events.onClosed(this, wasClosing ? undefined : error);
  }
}

/** Runs an ssh2 call whose failure only means "already closed". */
function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // ssh2 throws "Not connected" / "Channel is not open" on objects that are already gone.
  }
}
