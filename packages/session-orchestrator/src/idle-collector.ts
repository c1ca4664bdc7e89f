/** How long the host must have had no active turn before the collection runs. */
export const idleCollectMs = 1000;

/**
 * Gives back the memory a burst of turns used (issue 25): JavaScriptCore keeps a grown heap and
 * collects only as new allocation asks, so a host that ran hundreds of turns at once stayed tens of
 * MB above its idle size for as long as it then sat idle. When the last active turn ends, one timer
 * is armed; if no turn has started by the time it fires, one full collection runs (a few ms, once
 * per idle period). A host that is never idle never pays for it.
 */
export class IdleCollector {
  readonly #delayMs: number;
  readonly #collect: () => void;
  readonly #onError: (error: unknown) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #disposed = false;

  constructor(onError: (error: unknown) => void, delayMs = idleCollectMs, collect = () => Bun.gc(true)) {
    this.#delayMs = delayMs;
    this.#collect = collect;
    this.#onError = onError;
  }

  /** The host has no active turn now: collect after the delay unless `busy` comes first. */
  idle(): void {
    if (this.#disposed || this.#timer !== undefined) return;
    this.#timer = setTimeout(this.#fire, this.#delayMs);
    this.#timer.unref?.();
  }

  /** A turn started: no collection until the host is idle again. */
  busy(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Whether a collection is pending (for leak tests). */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  dispose(): void {
    this.#disposed = true;
    this.busy();
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    try {
      this.#collect();
    } catch (error) {
      this.#onError(error);
    }
  };
}
