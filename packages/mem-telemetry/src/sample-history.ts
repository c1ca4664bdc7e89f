import type { MemorySample } from "./types.ts";

/** Options for `SampleHistory`. */
export interface SampleHistoryOptions {
  /** How far back `points` reaches. Default: one hour. */
  windowMs?: number;
  /** The most points kept; samples closer together than `windowMs / maxPoints` are skipped. Default 720. */
  maxPoints?: number;
}

/**
 * The memory samples of the last hour, for the dashboard's chart. A ring of at most `maxPoints`
 * samples, each at least `windowMs / maxPoints` after the previous one kept, so a short sampling
 * interval (or a burst of per-turn samples) costs no more memory than the spacing allows: O(1) per
 * sample, O(maxPoints) memory whatever the rate.
 */
export class SampleHistory {
  readonly #windowMs: number;
  readonly #spacingMs: number;
  readonly #ring: (MemorySample | undefined)[];
  /** Where the next sample goes; the oldest kept sample is there too once the ring is full. */
  #next = 0;
  #last: MemorySample | undefined;

  constructor(options: SampleHistoryOptions = {}) {
    this.#windowMs = options.windowMs ?? 3_600_000;
    const maxPoints = options.maxPoints ?? 720;
    if (!Number.isInteger(maxPoints) || maxPoints < 2) {
      throw new RangeError(`Expected \`maxPoints\` to be an integer >= 2, got \`${maxPoints}\``);
    }
    this.#spacingMs = this.#windowMs / maxPoints;
    this.#ring = new Array(maxPoints).fill(undefined);
  }

  /** Keeps `sample` unless it comes sooner than the spacing after the last one kept. */
  add(sample: MemorySample): void {
    if (this.#last !== undefined && sample.at - this.#last.at < this.#spacingMs) return;
    this.#ring[this.#next] = sample;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#last = sample;
  }

  /** The kept samples no older than the window before `now`, oldest first (a copy). */
  points(now: number = Date.now()): MemorySample[] {
    const from = now - this.#windowMs;
    const out: MemorySample[] = [];
    for (let i = 0; i < this.#ring.length; i++) {
      const sample = this.#ring[(this.#next + i) % this.#ring.length];
      if (sample !== undefined && sample.at >= from) out.push({ ...sample });
    }
    return out;
  }
}
