import { DispatchError, type Logger, messageOf } from "@dispatch/kernel";
import type { SFTPWrapper } from "ssh2";
import { isChannelRefusal } from "./channel-budget.ts";
import type { BreakerState } from "./circuit-breaker.ts";
import type { HostConfig } from "./config.ts";
import { PERMANENT_CONNECT_CODES } from "./connect-error.ts";
import { type AttemptEvents, Connector } from "./connector.ts";
import { poolClosedError, queueFullError } from "./pool-errors.ts";
import type { SshConnection } from "./ssh-connection.ts";
import { WaitQueue } from "./wait-queue.ts";

/** How many times one command is put back after refused channel opens before it fails. */
const MAX_REFUSALS = 20;
/** How long `dispose` waits for clients to close before dropping their sockets. */
const DISPOSE_GRACE_MS = 2_000;

/** Options for `ConnectionPool`. */
export interface ConnectionPoolOptions {
  config: HostConfig;
  logger?: Logger;
  now?: () => number;
  /** For backoff jitter; `Math.random` unless a test pins it. */
  random?: () => number;
  /** First reconnect delay (doubles per consecutive failure). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Commands that may wait for a channel at once. */
  maxQueue?: number;
  /** Called for every failed connection attempt and every connection lost unexpectedly. */
  onFailure?: (error: DispatchError) => void;
}

/** A granted channel slot and what was opened on it; `release` exactly once when done. */
export interface ChannelLease<T> {
  connection: SshConnection;
  value: T;
  release(): void;
}

/** One host's state, for `/health` and `/metrics`. */
export interface PoolStats {
  hostId: string;
  connections: number;
  connecting: number;
  channelsInUse: number;
  queued: number;
  breaker: BreakerState;
  consecutiveFailures: number;
  failuresTotal: number;
  lastError: string | null;
}

interface Waiter {
  readonly ticket: number;
  grant(connection: SshConnection): void;
  fail(error: unknown): void;
}

/**
 * Connections to one host and the FIFO of commands waiting for a channel. A connection serves up to
 * its channel budget at once; waiters beyond that wait until a channel frees or a new connection
 * (one attempt at a time, so sshd's `MaxStartups` is never tripped by the pool itself) is ready.
 * Failed attempts back off exponentially with jitter and feed the circuit breaker.
 */
export class ConnectionPool {
  readonly hostId: string;
  readonly config: HostConfig;
  readonly #logger: Logger | undefined;
  readonly #now: () => number;
  readonly #connector: Connector;
  readonly #attemptEvents: AttemptEvents;
  readonly #queue: WaitQueue<Waiter>;
  readonly #connections = new Set<SshConnection>();
  #disposed = false;
  #nextTicket = 1;

  constructor(options: ConnectionPoolOptions) {
    this.config = options.config;
    this.hostId = options.config.id;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#connector = new Connector({
      config: options.config,
      logger: options.logger,
      now: this.#now,
      random: options.random ?? Math.random,
      backoffBaseMs: options.backoffBaseMs ?? 200,
      backoffMaxMs: options.backoffMaxMs ?? 10_000,
      onFailure: options.onFailure,
    });
    this.#attemptEvents = {
      ready: () => this.#pump(),
      failed: (connection, error) => this.#onAttemptFailed(connection, error),
      onClosed: (connection, error) => this.#onClosed(connection, error),
      onSlotFreed: () => this.#pump(),
    };
    this.#queue = new WaitQueue(options.maxQueue ?? 1_000);
  }

  /** The most recent connection failure, if any. */
  get lastError(): DispatchError | undefined {
    return this.#connector.lastError;
  }

  /**
   * Waits for a channel slot, then runs `open` on its connection. A refused channel (sshd's
   * `MaxSessions`) or a connection that died before the channel opened puts the command back at
   * the head of the queue and lowers that connection's budget. Rejects with the signal's reason on
   * abort, or with an `unavailable`-style DispatchError.
   */
  async lease<T>(
    open: (connection: SshConnection) => Promise<T>,
    options: { signal?: AbortSignal; priority?: boolean } = {},
  ): Promise<ChannelLease<T>> {
    // Clean-up commands go before everything; a refused command keeps its original place.
    const ticket = this.#nextTicket++ - (options.priority ? 2 ** 52 : 0);
    let requeued = false;
    for (let refusals = 0; ; refusals++) {
      // A priority command first tries any live connection past its budget: it is the clean-up of a
      // command that may hold the last slot. sshd's own limit still applies (a refusal requeues it).
      const overdraft = options.priority === true && !requeued;
      const connection = await this.#acquire(options.signal, ticket, requeued || overdraft, overdraft);
      const seq = connection.slots.beginOpen();
      try {
        const value = await open(connection);
        connection.lastActivityAt = this.#now();
        connection.slots.opened(seq);
        let released = false;
        return {
          connection,
          value,
          release: () => {
            if (released) return;
            released = true;
            connection.slots.endOpen(seq);
            this.#release(connection);
          },
        };
      } catch (error) {
        connection.slots.leases -= 1;
        if (!isChannelRefusal(error) || refusals >= MAX_REFUSALS || options.signal?.aborted) {
          connection.slots.endOpen(seq);
          this.#pump();
          if (DispatchError.isInstance(error)) throw error;
          throw new DispatchError(
            isChannelRefusal(error) ? "unavailable" : "io_error",
            `host "${this.hostId}": ${messageOf(error)}`,
            { cause: error },
          );
        }
        if (connection.state === "ready") connection.slots.refused(seq);
        else connection.slots.endOpen(seq);
        requeued = true;
      }
    }
  }

  /** An sftp session: the open one of any connection, or a new one that keeps its channel slot. */
  async sftp(signal?: AbortSignal): Promise<{ connection: SshConnection; sftp: SFTPWrapper }> {
    for (const connection of this.#connections) {
      if (connection.hasSftp) return { connection, sftp: await connection.sftp() };
    }
    const lease = await this.lease((connection) => connection.sftp(), { signal });
    // The session now holds its own slot (until it closes); the lease's slot goes back.
    lease.release();
    return { connection: lease.connection, sftp: lease.value };
  }

  /** Periodic upkeep: closes idle connections, fails stuck connects, refreshes the breaker. */
  maintain(): void {
    const now = this.#now();
    for (const connection of this.#connections) {
      connection.expireIfStuck(now, this.config.connectTimeoutMs + 2_000);
      const idle = connection.slots.leases === 0 && connection.busyOps === 0;
      if (
        connection.state === "ready" &&
        idle &&
        now - connection.lastActivityAt >= this.config.idleTimeoutMs
      ) {
        this.#logger?.debug("closing idle connection", { hostId: this.hostId, connection: connection.id });
        connection.close();
      }
    }
    void this.#connector.breaker.state;
  }

  /** Current state for health and metrics. */
  stats(): PoolStats {
    let connections = 0;
    let channelsInUse = 0;
    for (const connection of this.#connections) {
      if (connection.state !== "ready") continue;
      connections += 1;
      channelsInUse += connection.slots.inUse;
    }
    return {
      hostId: this.hostId,
      connections,
      connecting: this.#connector.connecting ? 1 : 0,
      channelsInUse,
      queued: this.#queue.size,
      breaker: this.#connector.breaker.state,
      consecutiveFailures: this.#connector.breaker.consecutiveFailures,
      failuresTotal: this.#connector.failuresTotal,
      lastError: this.#connector.lastError?.message ?? null,
    };
  }

  /** Fails every waiter, ends every client (dropping sockets after a grace period) and stops timers. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#connector.dispose();
    for (const waiter of this.#queue.drain()) waiter.fail(poolClosedError(this.hostId));
    const connections = [...this.#connections];
    for (const connection of connections) connection.close();
    let grace: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(connections.map((connection) => connection.closed)),
      new Promise<void>((resolve) => {
        grace = setTimeout(resolve, DISPOSE_GRACE_MS);
      }),
    ]);
    clearTimeout(grace);
    for (const connection of connections) connection.destroy();
  }

  /** A slot now when one is free and nobody waits ahead; otherwise a place in the queue. */
  #acquire(
    signal: AbortSignal | undefined,
    ticket: number,
    admitted: boolean,
    overdraft = false,
  ): Promise<SshConnection> {
    if (this.#disposed) return Promise.reject(poolClosedError(this.hostId));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const head = this.#queue.peek();
    if (head === undefined || (admitted && ticket < head.ticket)) {
      const connection = this.#roomyConnection() ?? (overdraft ? this.#readyConnection() : undefined);
      if (connection) {
        connection.slots.leases += 1;
        return Promise.resolve(connection);
      }
    }
    if (this.#connector.breaker.state === "open" && !this.#hasReadyConnection()) {
      return Promise.reject(this.#connector.breakerError());
    }
    return new Promise<SshConnection>((resolve, reject) => {
      const onAbort = () => {
        if (this.#queue.remove(waiter)) reject(signal?.reason);
      };
      const waiter: Waiter = {
        ticket,
        grant: (connection) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(connection);
        },
        fail: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      if (admitted) this.#queue.insert(waiter);
      else if (!this.#queue.push(waiter)) {
        reject(queueFullError(this.hostId, this.#queue.limit));
        return;
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pump();
    });
  }

  #release(connection: SshConnection): void {
    connection.slots.leases -= 1;
    connection.lastActivityAt = this.#now();
    this.#pump();
  }

  /** Hands free slots to waiters in order, then opens a connection if some still wait. */
  #pump(): void {
    if (this.#disposed) return;
    while (this.#queue.size > 0) {
      const connection = this.#roomyConnection();
      if (!connection) break;
      const waiter = this.#queue.shift() as Waiter;
      connection.slots.leases += 1;
      waiter.grant(connection);
    }
    if (this.#queue.size > 0) this.#grow();
  }

  #roomyConnection(): SshConnection | undefined {
    for (const connection of this.#connections) if (connection.hasRoom) return connection;
    return undefined;
  }

  #readyConnection(): SshConnection | undefined {
    for (const connection of this.#connections) if (connection.state === "ready") return connection;
    return undefined;
  }

  #hasReadyConnection(): boolean {
    return this.#readyConnection() !== undefined;
  }

  #grow(): void {
    if (this.#connector.busy || this.#connections.size >= this.config.maxConnections) return;
    const connection = this.#connector.start(this.#attemptEvents);
    if (connection) this.#connections.add(connection);
    else if (!this.#hasReadyConnection()) this.#failWaiters(this.#connector.breakerError());
  }

  #onAttemptFailed(connection: SshConnection, error: DispatchError): void {
    this.#connections.delete(connection);
    if (this.#disposed) return;
    if (!this.#hasReadyConnection()) {
      if (PERMANENT_CONNECT_CODES.has(error.code)) this.#failWaiters(error);
      else if (this.#connector.breaker.state === "open") this.#failWaiters(this.#connector.breakerError());
    }
    if (this.#queue.size > 0) this.#connector.scheduleRetry(() => this.#pump());
  }

  #onClosed(connection: SshConnection, error: DispatchError | undefined): void {
    this.#connections.delete(connection);
    // A failed attempt is accounted for by `#onAttemptFailed`.
    if (this.#connector.isAttempt(connection)) return;
    if (error && !this.#disposed) {
      this.#connector.recordFailure(error);
      this.#logger?.warn("connection lost", {
        hostId: this.hostId,
        connection: connection.id,
        error: error.message,
      });
    }
    this.#pump();
  }

  #failWaiters(error: DispatchError): void {
    for (const waiter of this.#queue.drain()) waiter.fail(error);
  }
}
