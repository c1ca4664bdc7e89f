import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { DispatchError, messageOf } from "@dispatch/kernel";
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from "ssh2";
import type { HostConfig } from "./config.ts";
import { connectError } from "./connect-error.ts";
import { fingerprintOf, fingerprintsMatch } from "./fingerprint.ts";

/** Lifecycle of one SSH connection. */
export type ConnectionState = "connecting" | "ready" | "closed";

/** What a connection tells its pool. */
export interface ConnectionEvents {
  /** Called exactly once, when the client has closed; `error` is why, unless the pool closed it. */
  onClosed(connection: SshConnection, error: DispatchError | undefined): void;
  /** A channel slot held by the connection itself (its sftp session) was freed. */
  onSlotFreed(connection: SshConnection): void;
}

/** Expands a leading `~` to the home directory, as a shell would. */
export function expandHome(path: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return `${homedir()}${path.slice(1)}`;
  return path;
}

/** The ssh2 error raised when the server refuses a channel (sshd's `MaxSessions`); `reason` is set only then. */
export function isChannelRefusal(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    "reason" in error || error.message === "No response from server" || error.message === "Not connected"
  );
}

let nextId = 1;

/**
 * One ssh2 client. It has a permanent `error` listener from construction until after `close`
 * (ssh2 can emit a second error after the first), verifies the host key against the configured
 * fingerprint, and never throws out of an ssh2 callback. Slot accounting (`leases`, `budget`) is
 * read and written by the pool.
 */
export class SshConnection {
  readonly id = nextId++;
  readonly startedAt: number;
  state: ConnectionState = "connecting";
  /** Channels this connection may hold at once; lowered when the server refuses one. */
  budget: number;
  /** Exec channels (and in-progress channel opens) granted by the pool. */
  leases = 0;
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
  #sftpHeld = false;
  #settleConnect: ((error: DispatchError | undefined) => void) | undefined;
  readonly #closed: Promise<void>;
  readonly #closeListeners = new Set<() => void>();
  readonly #opens = new Set<number>();
  #nextOpen = 0;
  #resolveClosed!: () => void;

  constructor(config: HostConfig, events: ConnectionEvents, now: number) {
    this.#config = config;
    this.#events = events;
    this.budget = config.maxChannelsPerConnection;
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

  /** Most channels ever open at once here: sshd's `MaxSessions` is at least this. */
  peakChannels = 0;

  /** Starts accounting for one channel open; returns its sequence number. */
  beginOpen(): number {
    const seq = this.#nextOpen++;
    this.#opens.add(seq);
    return seq;
  }

  /** The channel opened as `seq` was refused or has closed. */
  endOpen(seq: number): void {
    this.#opens.delete(seq);
  }

  /**
   * Channels sshd held when it answered open `seq`: it answers opens in order, so every earlier open
   * that was not refused (plus the sftp session) counted against its `MaxSessions` at that moment.
   */
  channelsAheadOf(seq: number): number {
    let ahead = this.#sftpHeld ? 1 : 0;
    for (const other of this.#opens) if (other < seq) ahead += 1;
    return ahead;
  }

  /** Channels in use: leases plus the sftp session. */
  get channelsInUse(): number {
    return this.leases + (this.#sftpHeld ? 1 : 0);
  }

  /** True when the pool may grant another channel on this connection. */
  get hasRoom(): boolean {
    return this.state === "ready" && !this.#closing && this.channelsInUse < this.budget;
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
        options = this.#connectConfig();
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
          this.#sftpHeld = true;
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
    if (this.#sftpHeld) {
      this.#sftpHeld = false;
      this.#events.onSlotFreed(this);
    }
  }

  #connectConfig(): ConnectConfig {
    const config = this.#config;
    const options: ConnectConfig = {
      host: config.host,
      port: config.port,
      username: config.username,
      readyTimeout: config.connectTimeoutMs,
      keepaliveInterval: config.keepaliveIntervalMs,
      keepaliveCountMax: 3,
      tryKeyboard: false,
      hostVerifier: (key: Buffer) => this.#verifyHostKey(key),
    };
    if (config.privateKeyPath !== undefined) {
      const path = expandHome(config.privateKeyPath);
      try {
        options.privateKey = readFileSync(path);
      } catch (error) {
        throw new DispatchError(
          "invalid_config",
          `host "${config.id}": cannot read private key ${path}: ${messageOf(error)}`,
          { cause: error },
        );
      }
    }
    if (config.agent) {
      const socket = process.env.SSH_AUTH_SOCK;
      if (!socket) {
        if (options.privateKey === undefined) {
          throw new DispatchError(
            "invalid_config",
            `host "${config.id}" uses the SSH agent, but SSH_AUTH_SOCK is not set`,
          );
        }
      } else {
        options.agent = socket;
      }
    }
    return options;
  }

  #verifyHostKey(key: Buffer): boolean {
    try {
      const seen = fingerprintOf(key);
      const expected = this.#config.hostKeySha256;
      const where = `${this.#config.host}:${this.#config.port} (host "${this.#config.id}")`;
      if (expected === undefined) {
        this.#hostKeyError = new DispatchError(
          "host_key_unknown",
          `refusing ${where}: no hostKeySha256 is configured; the server presented ${seen}. Check it out of band (ssh-keygen -lf on the server's host key) and set hostKeySha256 to it.`,
          { details: { hostId: this.#config.id, seen } },
        );
        return false;
      }
      if (!fingerprintsMatch(expected, seen)) {
        this.#hostKeyError = new DispatchError(
          "host_key_mismatch",
          `refusing ${where}: host key mismatch, expected ${expected} but the server presented ${seen}`,
          { details: { hostId: this.#config.id, expected, seen } },
        );
        return false;
      }
      return true;
    } catch (error) {
      this.#hostKeyError = new DispatchError(
        "host_key_mismatch",
        `host key check failed: ${messageOf(error)}`,
      );
      return false;
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
    this.#sftpHeld = false;
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
