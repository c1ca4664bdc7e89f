/** Something that holds buffered output and can write it out now. */
export interface Flushable {
  flush(): void;
}

/**
 * One shared flush timer for every streaming turn (DESIGN §9: one timer per concern, never one per
 * conversation). Each buffer is flushed `intervalMs` after it was first marked, give or take: the
 * timer is set for the oldest mark, and each tick also takes the buffers due within the next fifth of
 * the interval, so a buffer is flushed at most that much early, never late by design. Deadlines per
 * buffer rather than one tick for all spread the flushes of many streams over the interval: a single
 * tick flushed them all at once, and the last of a hundred waited for the ninety-nine before it.
 * The timer is armed only while some buffer is dirty, so an idle host has no timer at all.
 */
export class FlushTicker {
  readonly #intervalMs: number;
  readonly #earlyMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #clock: () => number;
  /** Dirty buffers with the time each was first marked, oldest first (a Map keeps insertion order). */
  readonly #dirty = new Map<Flushable, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #disposed = false;

  constructor(
    intervalMs: number,
    onError: (error: unknown) => void,
    clock: () => number = () => performance.now(),
  ) {
    if (!Number.isInteger(intervalMs) || intervalMs < 1) {
      throw new TypeError(`Expected \`intervalMs\` to be an integer >= 1, got \`${intervalMs}\``);
    }
    this.#intervalMs = intervalMs;
    this.#earlyMs = intervalMs / 5;
    this.#onError = onError;
    this.#clock = clock;
  }

  /** Schedules `buffer` for a flush `intervalMs` from its first mark; marking it again changes nothing. O(1). */
  mark(buffer: Flushable): void {
    if (this.#disposed || this.#dirty.has(buffer)) return;
    this.#dirty.set(buffer, this.#clock());
    this.#arm();
  }

  /** Drops `buffer` from its pending flush (it flushed on its own). O(1). */
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
    if (this.#timer !== undefined || this.#disposed) return;
    const oldest = this.#dirty.values().next();
    if (oldest.done) return;
    const delay = Math.max(0, oldest.value + this.#intervalMs - this.#clock());
    this.#timer = setTimeout(this.#tick, delay);
    this.#timer.unref?.();
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    const due = this.#clock() + this.#earlyMs - this.#intervalMs;
    for (const [buffer, markedAt] of this.#dirty) {
      if (markedAt > due) break;
      // Dropped before its flush, so a buffer that marks itself again while flushing waits a full interval.
      this.#dirty.delete(buffer);
      try {
        buffer.flush();
      } catch (error) {
        this.#onError(error);
      }
    }
    this.#arm();
  };
}
