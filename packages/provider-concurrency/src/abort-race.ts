/**
 * Races each `next()` of an iterator against one abort signal, with a single listener for the whole
 * stream: racing a long-lived promise per part would pile reactions onto it, and a listener per part
 * costs an add and a remove each time. Call `dispose()` when the stream is over.
 */
export class AbortRace {
  readonly #signal: AbortSignal;
  #resolve: ((result: IteratorResult<unknown, unknown>) => void) | undefined;
  #reject: ((reason: unknown) => void) | undefined;
  /** Whether a `next()` has not settled yet (its iterator ignored the abort, say). */
  pending = false;
  readonly #onAbort = () => this.#reject?.(this.#signal.reason);
  // Made once, not per part: a stream's every `next()` goes through these.
  readonly #capture = (
    resolve: (result: IteratorResult<unknown, unknown>) => void,
    reject: (reason: unknown) => void,
  ) => {
    this.#resolve = resolve;
    this.#reject = reject;
  };
  readonly #settled = (result: IteratorResult<unknown, unknown>) => {
    this.pending = false;
    this.#resolve?.(result);
  };
  readonly #failed = (error: unknown) => {
    this.pending = false;
    this.#reject?.(error);
  };

  constructor(signal: AbortSignal) {
    this.#signal = signal;
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** The iterator's next result, or a rejection with the signal's reason if it fires first. */
  next<T, R>(iterator: AsyncIterator<T, R>): Promise<IteratorResult<T, R>> {
    if (this.#signal.aborted) return Promise.reject(this.#signal.reason);
    if (this.pending) throw new Error("AbortRace.next: the previous next() has not settled");
    this.pending = true;
    const result = new Promise(this.#capture) as Promise<IteratorResult<T, R>>;
    try {
      iterator.next().then(this.#settled, this.#failed);
    } catch (error) {
      this.#failed(error);
    }
    return result;
  }

  /** Removes the listener; later aborts, and a pending `next()`'s result, reach nobody. */
  dispose(): void {
    this.#signal.removeEventListener("abort", this.#onAbort);
    this.#resolve = undefined;
    this.#reject = undefined;
  }
}
