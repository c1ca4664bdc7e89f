import { timerDelayMs } from "@dispatch/kernel";
import { z } from "zod";

/** Defaults of `telemetry.memory`, also the documented values. */
export const memoryConfigDefaults = {
  intervalMs: 30_000,
  limitBytes: null,
  warnRatio: 0.7,
  shedRatio: 0.9,
} as const;

const ratio = z.number().gt(0, "must be above 0").max(1, "must be at most 1");

const memoryConfigSchema = z
  .object({
    intervalMs: timerDelayMs(100).default(memoryConfigDefaults.intervalMs),
    /** Overrides the cgroup limit; null means "discover it from the cgroup". */
    limitBytes: z.number().int().positive().nullable().default(memoryConfigDefaults.limitBytes),
    warnRatio: ratio.default(memoryConfigDefaults.warnRatio),
    shedRatio: ratio.default(memoryConfigDefaults.shedRatio),
  })
  .strict()
  .superRefine((value, ctx) => {
    // Hysteresis needs a band between the two lines; equal lines would flap on every sample.
    if (value.warnRatio >= value.shedRatio) {
      ctx.addIssue({
        code: "custom",
        path: ["warnRatio"],
        message: `Expected \`warnRatio\` to be below \`shedRatio\` (${value.shedRatio}), got \`${value.warnRatio}\``,
      });
    }
  });

/** The `telemetry` config slice; strict, and every field defaulted (a missing slice is fine). */
export const memTelemetryConfigSchema = z
  .object({ memory: memoryConfigSchema.prefault({}) })
  .strict()
  .prefault({});

/** Parsed `telemetry` config. */
export type MemTelemetryConfig = z.output<typeof memTelemetryConfigSchema>;
/** Parsed `telemetry.memory` config. */
export type MemoryConfig = MemTelemetryConfig["memory"];
