/** `closed`: connect freely; `open`: refuse new connections; `half-open`: one trial connection allowed. */
export type BreakerState = "closed" | "open" | "half-open";

/** Options for `CircuitBreaker`. */
export interface CircuitBreakerOptions {
  failureThreshold: number;
  cooldownMs: number;
  now?: () => number;
}

/**
 * A per-host circuit breaker over connection attempts. It opens after `failureThreshold`
 * consecutive failures, turns half-open `cooldownMs` later, lets exactly one trial through, and
 * closes on its success or reopens on its failure. Time is read, never waited on: the state is
 * brought up to date on every query, so no timer is needed.
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  #state: BreakerState = "closed";
  #consecutiveFailures = 0;
  #openedAt = 0;
  #trialInFlight = false;

  constructor(options: CircuitBreakerOptions) {
    this.#threshold = options.failureThreshold;
    this.#cooldownMs = options.cooldownMs;
    this.#now = options.now ?? Date.now;
  }

  /** The state now (an open breaker past its cool-down reads as half-open). */
  get state(): BreakerState {
    if (this.#state === "open" && this.#now() - this.#openedAt >= this.#cooldownMs) {
      this.#state = "half-open";
      this.#trialInFlight = false;
    }
    return this.#state;
  }

  get consecutiveFailures(): number {
    return this.#consecutiveFailures;
  }

  /** Milliseconds until an open breaker turns half-open (0 when not open). */
  get retryInMs(): number {
    if (this.state !== "open") return 0;
    return Math.max(0, this.#openedAt + this.#cooldownMs - this.#now());
  }

  /** True when a new connection attempt may start now; in half-open this claims the single trial. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open" || this.#trialInFlight) return false;
    this.#trialInFlight = true;
    return true;
  }

  /** A connection attempt succeeded. */
  recordSuccess(): void {
    this.#state = "closed";
    this.#consecutiveFailures = 0;
    this.#trialInFlight = false;
  }

  /** A connection attempt failed; returns true when this failure opened the breaker. */
  recordFailure(): boolean {
    this.#consecutiveFailures += 1;
    const state = this.state;
    this.#trialInFlight = false;
    if (state === "half-open" || (state === "closed" && this.#consecutiveFailures >= this.#threshold)) {
      this.#state = "open";
      this.#openedAt = this.#now();
      return true;
    }
    return false;
  }
}
