import { type CancelTimer, setLongTimeout } from "@dispatch/kernel";

/**
 * Per-turn deadlines on one timer (DESIGN §9), armed for the earliest deadline. Adding an earlier
 * deadline re-arms in O(1); a firing scans the entries once (O(n)) to expire and to find the next,
 * and runs the expired ones earliest first (O(k log k) for k expired).
 */
export class DeadlineWatch {
  readonly #entries = new Map<symbol, { at: number; onExpire: () => void }>();
  readonly #onError: (error: unknown) => void;
  #timer: CancelTimer | undefined;
  #armedAt = Number.POSITIVE_INFINITY;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** Calls `onExpire` once at epoch ms `at` unless the returned function is called first. */
  add(at: number, onExpire: () => void): () => void {
    const key = Symbol("deadline");
    this.#entries.set(key, { at, onExpire });
    this.#arm(at);
    return () => {
      this.#entries.delete(key);
      if (this.#entries.size === 0) this.#disarm();
    };
  }

  /** Deadlines being watched. */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether the timer is armed (for leak tests). */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** Forgets every deadline and clears the timer. */
  dispose(): void {
    this.#entries.clear();
    this.#disarm();
  }

  #arm(at: number): void {
    if (at >= this.#armedAt) return;
    this.#disarm();
    this.#armedAt = at;
    // setLongTimeout waits out deadlines past setTimeout's 24.8-day limit in steps.
    this.#timer = setLongTimeout(this.#fire, at - Date.now());
  }

  #disarm(): void {
    this.#timer?.();
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    const expired: Array<{ at: number; onExpire: () => void }> = [];
    for (const [key, entry] of this.#entries) {
      if (entry.at <= now) {
        this.#entries.delete(key);
        expired.push(entry);
      } else if (entry.at < next) next = entry.at;
    }
    // A late timer (a busy machine) can find several deadlines past: they still expire earliest first.
    expired.sort((a, b) => a.at - b.at);
    for (const entry of expired) {
      try {
        entry.onExpire();
      } catch (error) {
        this.#onError(error);
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
  };
}
