import { type DispatchError, type Logger, messageOf } from "@dispatch/kernel";
import { backoffDelay } from "./backoff.ts";
import { CircuitBreaker } from "./circuit-breaker.ts";
import type { HostConfig } from "./config.ts";
import { breakerOpenError } from "./pool-errors.ts";
import { type ConnectionEvents, SshConnection } from "./ssh-connection.ts";

/** Options for `Connector`. */
export interface ConnectorOptions {
  config: HostConfig;
  logger?: Logger;
  now: () => number;
  random: () => number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  onFailure?: (error: DispatchError) => void;
}

/** What an attempt tells the pool once it is over. */
export interface AttemptEvents extends ConnectionEvents {
  ready(connection: SshConnection): void;
  failed(connection: SshConnection, error: DispatchError): void;
}

/**
 * Opens connections to one host, one attempt at a time (so the pool itself never trips sshd's
 * `MaxStartups`), behind the host's circuit breaker, and keeps the failure record: consecutive
 * failures feed the breaker and the exponential backoff (with jitter) before the next attempt.
 */
export class Connector {
  readonly breaker: CircuitBreaker;
  readonly #options: ConnectorOptions;
  #attempt: SshConnection | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #failuresTotal = 0;
  #lastError: DispatchError | undefined;
  #disposed = false;

  constructor(options: ConnectorOptions) {
    this.#options = options;
    this.breaker = new CircuitBreaker({ ...options.config.breaker, now: options.now });
  }

  /** True while an attempt runs or a backoff delay is pending: no new attempt may start. */
  get busy(): boolean {
    return this.#attempt !== undefined || this.#retryTimer !== undefined;
  }

  get connecting(): boolean {
    return this.#attempt !== undefined;
  }

  get failuresTotal(): number {
    return this.#failuresTotal;
  }

  get lastError(): DispatchError | undefined {
    return this.#lastError;
  }

  /** Is `connection` the attempt in progress (its failure is reported through `failed`)? */
  isAttempt(connection: SshConnection): boolean {
    return connection === this.#attempt;
  }

  /** Starts an attempt; undefined when the breaker refuses one now. */
  start(events: AttemptEvents): SshConnection | undefined {
    if (!this.breaker.tryAcquire()) return undefined;
    const { config, logger } = this.#options;
    const connection = new SshConnection(config, events, this.#options.now());
    this.#attempt = connection;
    connection.connect().then(
      () => {
        this.#attempt = undefined;
        this.breaker.recordSuccess();
        logger?.debug("connected", { hostId: config.id, connection: connection.id });
        events.ready(connection);
      },
      (error: DispatchError) => {
        this.#attempt = undefined;
        // An attempt cut short by shutdown is no failure of the host.
        if (this.#disposed) return events.failed(connection, error);
        this.recordFailure(error);
        const opened = this.breaker.recordFailure();
        logger?.warn("connection attempt failed", {
          hostId: config.id,
          code: error.code,
          error: error.message,
          consecutiveFailures: this.breaker.consecutiveFailures,
          breaker: this.breaker.state,
        });
        if (opened) logger?.warn("circuit breaker opened", { hostId: config.id });
        events.failed(connection, error);
      },
    );
    return connection;
  }

  /** Calls `retry` after the backoff delay for the current run of failures. */
  scheduleRetry(retry: () => void): void {
    if (this.#retryTimer !== undefined) return;
    const delay = backoffDelay(this.breaker.consecutiveFailures, {
      baseMs: this.#options.backoffBaseMs,
      maxMs: this.#options.backoffMaxMs,
      random: this.#options.random,
    });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      retry();
    }, delay);
  }

  /** Counts a failure (an attempt or a connection lost) for stats and the `onFailure` hook. */
  recordFailure(error: DispatchError): void {
    this.#failuresTotal += 1;
    this.#lastError = error;
    try {
      this.#options.onFailure?.(error);
    } catch (hookError) {
      this.#options.logger?.error("failure hook threw", {
        hostId: this.#options.config.id,
        error: messageOf(hookError),
      });
    }
  }

  /** The error waiters get while the breaker is open. */
  breakerError(): DispatchError {
    return breakerOpenError(
      this.#options.config.id,
      this.breaker.consecutiveFailures,
      this.breaker.retryInMs,
      this.#lastError,
    );
  }

  /** Stops the backoff timer; an attempt in flight is closed by the pool with its other connections. */
  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }
}
