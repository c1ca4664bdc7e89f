/**
 * Races each `next()` of an iterator against one abort signal, with a single listener for the whole
 * stream: racing a long-lived promise per part would pile reactions onto it, and a listener per part
 * costs an add and a remove each time. Call `dispose()` when the stream is over.
 */
export class AbortRace {
  readonly #signal: AbortSignal;
  #reject: ((reason: unknown) => void) | undefined;
  /** Whether a `next()` has not settled yet (its iterator ignored the abort, say). */
  pending = false;
  readonly #onAbort = () => this.#reject?.(this.#signal.reason);

  constructor(signal: AbortSignal) {
    this.#signal = signal;
    signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** The iterator's next result, or a rejection with the signal's reason if it fires first. */
  next<T, R>(iterator: AsyncIterator<T, R>): Promise<IteratorResult<T, R>> {
    if (this.#signal.aborted) return Promise.reject(this.#signal.reason);
    this.pending = true;
    return new Promise<IteratorResult<T, R>>((resolve, reject) => {
      this.#reject = reject;
      try {
        iterator.next().then(
          (result) => {
            this.pending = false;
            resolve(result);
          },
          (error: unknown) => {
            this.pending = false;
            reject(error);
          },
        );
      } catch (error) {
        this.pending = false;
        reject(error);
      }
    });
  }

  /** Removes the listener; later aborts reach nobody. */
  dispose(): void {
    this.#signal.removeEventListener("abort", this.#onAbort);
    this.#reject = undefined;
  }
}
