import { createServiceRef } from "@dispatch/kernel";

/** One memory reading of this process. */
export interface MemorySample {
  at: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
}

/** Where memory stands against the limit. */
export type PressureLevel = "normal" | "warn" | "shed";

/** The service the `mem-telemetry` extension provides. */
export interface MemoryTelemetry {
  /** Takes a sample now (also feeds the pressure level). */
  sample(): MemorySample;
  /** The effective limit in bytes (config, else cgroup), or null when there is none. */
  limitBytes(): number | null;
  level(): PressureLevel;
  /**
   * Returns a DispatchError with code `memory_pressure` when new turns must be refused, else undefined.
   * Running turns are never affected.
   */
  admitTurn(): Error | undefined;
  /** The samples of the last hour, oldest first (at most one per 5 s), for charts. */
  history(): MemorySample[];
  /** The warn and shed lines, as ratios of the limit. */
  thresholds(): { warnRatio: number; shedRatio: number };
}

/** The service ref of `MemoryTelemetry`. */
export const memoryTelemetryRef = createServiceRef<MemoryTelemetry>("mem-telemetry");
