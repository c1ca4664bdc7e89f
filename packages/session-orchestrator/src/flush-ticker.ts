/** Something that holds buffered output and can write it out now. */
export interface Flushable {
  flush(): void;
}

/**
 * One shared flush tick for every streaming turn (DESIGN §9: one timer per concern, never one per
 * conversation). The timer is armed only while some buffer is dirty, so an idle host has no timer at
 * all. A buffer marked just before the tick is flushed early, which only makes its batch smaller: the
 * latency bound (`intervalMs`) still holds.
 */
export class FlushTicker {
  readonly #intervalMs: number;
  readonly #onError: (error: unknown) => void;
  #dirty = new Set<Flushable>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #disposed = false;

  constructor(intervalMs: number, onError: (error: unknown) => void) {
    if (!Number.isInteger(intervalMs) || intervalMs < 1) {
      throw new TypeError(`Expected \`intervalMs\` to be an integer >= 1, got \`${intervalMs}\``);
    }
    this.#intervalMs = intervalMs;
    this.#onError = onError;
  }

  /** Schedules `buffer` for the next tick. O(1). */
  mark(buffer: Flushable): void {
    if (this.#disposed) return;
    this.#dirty.add(buffer);
    this.#arm();
  }

  /** Drops `buffer` from the next tick (it flushed on its own). O(1). */
  unmark(buffer: Flushable): void {
    this.#dirty.delete(buffer);
  }

  /** Whether the timer is currently armed (for leak tests). */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** Stops the timer; buffers still dirty are not flushed (their owners flush at their own end). */
  dispose(): void {
    this.#disposed = true;
    this.#dirty.clear();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(this.#tick, this.#intervalMs);
    this.#timer.unref?.();
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    const batch = this.#dirty;
    this.#dirty = new Set();
    for (const buffer of batch) {
      try {
        buffer.flush();
      } catch (error) {
        this.#onError(error);
      }
    }
    if (this.#dirty.size > 0 && !this.#disposed) this.#arm();
  };
}
