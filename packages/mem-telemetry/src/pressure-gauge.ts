import type { PressureLevel } from "./types.ts";

/** The two lines of the pressure state machine, as fractions of the limit (0 < warn < shed <= 1). */
export interface PressureThresholds {
  warnRatio: number;
  shedRatio: number;
}

/** A change of level, returned by `PressureGauge.update` so the caller can log it once. */
export interface PressureTransition {
  from: PressureLevel;
  to: PressureLevel;
  ratio: number;
}

/**
 * The pressure state machine, pure (no clock, no I/O). The level rises when usage reaches a line
 * (`>=`) and falls only when usage is strictly below the WARN line: once shedding, it keeps shedding
 * between the two lines, so a process hovering at the shed line does not flap.
 */
export class PressureGauge {
  readonly #thresholds: PressureThresholds;
  #level: PressureLevel = "normal";
  #ratio = 0;

  constructor(thresholds: PressureThresholds) {
    const { warnRatio, shedRatio } = thresholds;
    if (!(warnRatio > 0 && warnRatio < shedRatio && shedRatio <= 1)) {
      throw new RangeError(
        `Expected 0 < \`warnRatio\` < \`shedRatio\` <= 1, got \`${warnRatio}\` and \`${shedRatio}\``,
      );
    }
    this.#thresholds = { warnRatio, shedRatio };
  }

  /** The current level. */
  get level(): PressureLevel {
    return this.#level;
  }

  /** Usage over limit at the last update (0 when there is no limit). */
  get ratio(): number {
    return this.#ratio;
  }

  /** The lines this gauge was built with. */
  get thresholds(): PressureThresholds {
    return this.#thresholds;
  }

  /** Feeds one reading; a null limit means no pressure. Returns the transition when the level changed. */
  update(usedBytes: number, limitBytes: number | null): PressureTransition | undefined {
    const ratio = limitBytes === null || limitBytes <= 0 ? 0 : usedBytes / limitBytes;
    this.#ratio = ratio;
    const from = this.#level;
    const to = nextLevel(from, ratio, this.#thresholds);
    if (to === from) return undefined;
    this.#level = to;
    return { from, to, ratio };
  }
}

function nextLevel(
  from: PressureLevel,
  ratio: number,
  { warnRatio, shedRatio }: PressureThresholds,
): PressureLevel {
  if (ratio >= shedRatio) return "shed";
  if (ratio < warnRatio) return "normal";
  return from === "shed" ? "shed" : "warn";
}
