/** One step of giving memory back: run `collect` once the host has had no active turn for `afterMs`. */
export interface IdleStage {
  readonly afterMs: number;
  readonly collect: () => void;
}

/**
 * What an idle host does (issue 25). JavaScriptCore keeps a grown heap and collects only as new
 * allocation asks, so a host that ran hundreds of turns at once stayed tens of MB above its idle size
 * for as long as it then sat idle. After a second: one full collection (a few ms). After half a
 * minute: `Bun.shrink()`, which also drops the JIT's compiled code and hands the allocators' free
 * pages back to the system (15-18 MB more after a burst of 256 turns, notes/benchmarks.md). The turns
 * after a shrink pay to compile again (20-30% more CPU per streamed chunk in a burst), which is why
 * it waits for a host that is really idle, not one between two bursts.
 */
export const idleStages: readonly IdleStage[] = [
  { afterMs: 1000, collect: () => Bun.gc(true) },
  // deprecated in the types but kept by Bun (it is what it runs itself under memory pressure)
  { afterMs: 30_000, collect: () => (Bun as unknown as { shrink(): void }).shrink() },
];

/**
 * Runs the idle stages in order while no turn is active: when the last active turn ends, one timer is
 * armed for the first stage, and each stage arms the next; a turn that starts cancels the rest. A
 * host that is never idle never pays for them.
 */
export class IdleCollector {
  readonly #stages: readonly IdleStage[];
  readonly #onError: (error: unknown) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The stage the timer is armed for; `#stages.length` once all ran in this idle period. */
  #next = 0;
  #idle = false;
  #disposed = false;

  constructor(onError: (error: unknown) => void, stages: readonly IdleStage[] = idleStages) {
    this.#stages = stages;
    this.#onError = onError;
  }

  /** The host has no active turn now: run the stages unless `busy` comes first. */
  idle(): void {
    if (this.#disposed || this.#idle) return;
    this.#idle = true;
    this.#next = 0;
    this.#arm(0);
  }

  /** A turn started: nothing more runs until the host is idle again. */
  busy(): void {
    this.#idle = false;
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Whether a stage is pending (for leak tests). */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  dispose(): void {
    this.#disposed = true;
    this.busy();
  }

  #arm(sinceMs: number): void {
    const stage = this.#stages[this.#next];
    if (stage === undefined) return;
    this.#timer = setTimeout(this.#fire, Math.max(0, stage.afterMs - sinceMs));
    this.#timer.unref?.();
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    const stage = this.#stages[this.#next] as IdleStage;
    this.#next += 1;
    try {
      stage.collect();
    } catch (error) {
      this.#onError(error);
    }
    this.#arm(stage.afterMs);
  };
}
