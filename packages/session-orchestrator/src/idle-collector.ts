/**
 * When the collections run, after the host's last active turn ended: the first a second in, the
 * second 3 s after it. One full collection leaves what only the next one frees (objects whose native
 * memory goes back as the first collection's sweep finalizes them): ~0.7 MB a burst (issue 25).
 */
export const idleCollectMs: readonly number[] = [1000, 3000];

/**
 * Gives back the memory a burst of turns used (issue 25): JavaScriptCore keeps a grown heap and
 * collects only as new allocation asks, so a host that ran hundreds of turns at once stayed tens of
 * MB above its idle size for as long as it then sat idle. When the last active turn ends, one timer
 * is armed; if no turn has started by the time it fires, a full collection runs (a few ms), and the
 * next stage's timer is armed, until the stages are done: once per idle period. A host that is never
 * idle never pays for it.
 */
export class IdleCollector {
  readonly #delaysMs: readonly number[];
  readonly #collect: () => void;
  readonly #onError: (error: unknown) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The stage whose timer is armed or next to be. */
  #stage = 0;
  #disposed = false;

  constructor(
    onError: (error: unknown) => void,
    delaysMs: readonly number[] = idleCollectMs,
    collect = () => Bun.gc(true),
  ) {
    this.#delaysMs = delaysMs;
    this.#collect = collect;
    this.#onError = onError;
  }

  /** The host has no active turn now: collect after the delays unless `busy` comes first. */
  idle(): void {
    if (this.#disposed || this.#timer !== undefined) return;
    this.#stage = 0;
    this.#arm();
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

  #arm(): void {
    const delay = this.#delaysMs[this.#stage];
    if (delay === undefined) return;
    this.#timer = setTimeout(this.#fire, delay);
    this.#timer.unref?.();
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    try {
      this.#collect();
    } catch (error) {
      this.#onError(error);
    }
    this.#stage += 1;
    this.#arm();
  };
}
