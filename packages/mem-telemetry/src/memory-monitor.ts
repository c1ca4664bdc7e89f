import { DispatchError, type Logger } from "@dispatch/kernel";
import type { MemoryMetrics } from "./memory-metrics.ts";
import { PressureGauge, type PressureThresholds, type PressureTransition } from "./pressure-gauge.ts";
import { SampleHistory } from "./sample-history.ts";
import type { MemorySampler } from "./sampler.ts";
import type { MemorySample, MemoryTelemetry, PressureLevel } from "./types.ts";

/** Where the limit came from, as shown in health and logs. */
export type LimitSource = "config" | "cgroup-v2" | "cgroup-v1" | "none";

/** The limit pressure is measured against. */
export interface MemoryLimit {
  bytes: number | null;
  source: LimitSource;
  /** The cgroup file it was read from. */
  file?: string;
}

/** Why a sample was taken; appears in its log line. */
export type SampleSource = "start" | "interval" | "on-demand";

/** Options for `MemoryMonitor`. */
export interface MemoryMonitorOptions {
  sampler: MemorySampler;
  limit: MemoryLimit;
  thresholds: PressureThresholds;
  logger: Logger;
  metrics?: MemoryMetrics;
  /** Where samples are kept for `history()`. Default: the last hour, at most one per 5 s. */
  history?: SampleHistory;
}

/**
 * The `MemoryTelemetry` service: samples, keeps the pressure level, logs and exports each sample,
 * and refuses new turns while shedding. Pressure is measured on RSS (what the cgroup limit counts).
 * `admitTurn` reads the level the last sample left (the interval and every per-turn sample keep it
 * fresh) rather than sampling again.
 */
export class MemoryMonitor implements MemoryTelemetry {
  readonly #options: MemoryMonitorOptions;
  readonly #gauge: PressureGauge;
  readonly #history: SampleHistory;
  #last: MemorySample | undefined;
  #shedTurns = 0;

  constructor(options: MemoryMonitorOptions) {
    this.#options = options;
    this.#gauge = new PressureGauge(options.thresholds);
    this.#history = options.history ?? new SampleHistory();
  }

  /** Takes a sample, updates the level, logs one JSON line and sets the gauges. */
  sample(source: SampleSource = "on-demand"): MemorySample {
    const { sampler, limit, logger, metrics } = this.#options;
    const sample = sampler();
    this.#last = sample;
    this.#history.add(sample);
    const transition = this.#gauge.update(sample.rssBytes, limit.bytes);
    const pressure = this.#gauge.level;
    metrics?.record(sample, limit.bytes, pressure);
    const { at: _at, ...bytes } = sample;
    // `pressure`, not `level`: a `level` field would overwrite the log record's own level. Per-turn
    // (on-demand) samples log at debug: two info lines per turn would drown the log under load.
    const log = source === "on-demand" ? logger.debug : logger.info;
    log("memory sample", {
      source,
      ...bytes,
      limitBytes: limit.bytes,
      ratio: this.#ratio(),
      pressure,
    });
    if (transition) this.#logTransition(transition, sample);
    return sample;
  }

  /** The effective limit in bytes, or null. */
  limitBytes(): number | null {
    return this.#options.limit.bytes;
  }

  /** The current pressure level. */
  level(): PressureLevel {
    return this.#gauge.level;
  }

  /** The samples of the last hour, oldest first. */
  history(): MemorySample[] {
    return this.#history.points();
  }

  /** The warn and shed lines. */
  thresholds(): { warnRatio: number; shedRatio: number } {
    const { warnRatio, shedRatio } = this.#gauge.thresholds;
    return { warnRatio, shedRatio };
  }

  /** The last sample taken, if any. */
  lastSample(): MemorySample | undefined {
    return this.#last;
  }

  /** A `memory_pressure` DispatchError while shedding (and counts it), else undefined. */
  admitTurn(): Error | undefined {
    if (this.#gauge.level !== "shed") return undefined;
    this.#shedTurns++;
    this.#options.metrics?.countShedTurn();
    const { warnRatio, shedRatio } = this.#gauge.thresholds;
    const limitBytes = this.#options.limit.bytes ?? 0;
    return new DispatchError(
      "memory_pressure",
      `memory at ${percent(this.#gauge.ratio)} of the limit ${formatBytes(limitBytes)}; new turns are refused until it drops below ${percent(warnRatio)} (running turns continue)`,
      {
        details: {
          rssBytes: this.#last?.rssBytes ?? null,
          limitBytes,
          ratio: this.#ratio(),
          warnRatio,
          shedRatio,
        },
      },
    );
  }

  /** What `/health` shows for this extension. */
  health(): Record<string, unknown> {
    const { limit } = this.#options;
    const { warnRatio, shedRatio } = this.#gauge.thresholds;
    return {
      level: this.#gauge.level,
      ratio: this.#ratio(),
      limitBytes: limit.bytes,
      limitSource: limit.source,
      ...(limit.file === undefined ? {} : { limitFile: limit.file }),
      warnRatio,
      shedRatio,
      shedTurns: this.#shedTurns,
      lastSample: this.#last ?? null,
    };
  }

  #ratio(): number {
    return Math.round(this.#gauge.ratio * 1000) / 1000;
  }

  #logTransition({ from, to }: PressureTransition, sample: MemorySample): void {
    const { logger, limit } = this.#options;
    const { warnRatio, shedRatio } = this.#gauge.thresholds;
    const fields = { from, to, rssBytes: sample.rssBytes, limitBytes: limit.bytes, ratio: this.#ratio() };
    if (to === "warn") logger.warn("memory above the warn line", { ...fields, warnRatio });
    else if (to === "shed") logger.warn("memory pressure: refusing new turns", { ...fields, shedRatio });
    else if (from === "shed")
      logger.info("memory pressure over: accepting new turns", { ...fields, warnRatio });
    else logger.info("memory back below the warn line", { ...fields, warnRatio });
  }
}

function percent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

const units = ["bytes", "KiB", "MiB", "GiB", "TiB"] as const;

function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}
