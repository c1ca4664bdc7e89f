/** setTimeout's largest delay; longer deadlines are re-armed when this fires. */
const maxTimerMs = 2 ** 31 - 1;

/**
 * Per-turn deadlines on one timer (DESIGN §9), armed for the earliest deadline. Adding an earlier
 * deadline re-arms in O(1); a firing scans the entries once (O(n)) to expire and to find the next.
 */
export class DeadlineWatch {
  readonly #entries = new Map<symbol, { at: number; onExpire: () => void }>();
  readonly #onError: (error: unknown) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
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
    this.#timer = setTimeout(this.#fire, Math.min(maxTimerMs, Math.max(0, at - Date.now())));
    this.#timer.unref?.();
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    const due: Array<{ at: number; onExpire: () => void }> = [];
    for (const [key, entry] of this.#entries) {
      if (entry.at <= now) {
        this.#entries.delete(key);
        due.push(entry);
      } else if (entry.at < next) next = entry.at;
    }
    // a late timer (a busy event loop) finds several due at once: they still expire earliest first
    due.sort((a, b) => a.at - b.at);
    for (const entry of due) {
      try {
        entry.onExpire();
      } catch (error) {
        this.#onError(error);
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
  };
}
