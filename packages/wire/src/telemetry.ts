import { z } from "zod";

const IsoTime = z.string().describe("ISO-8601 time");

/** One memory sample as the telemetry history keeps it. */
export const MemoryPoint = z.object({
  at: IsoTime,
  rssBytes: z.number(),
  heapUsedBytes: z.number(),
});
export type MemoryPoint = z.infer<typeof MemoryPoint>;

/** `GET /telemetry/memory`: the interval samples of the last hour, oldest first, and the limit. */
export const MemoryHistory = z.object({
  /** The limit pressure is measured against (config or cgroup); null when there is none. */
  limitBytes: z.number().nullable(),
  level: z.enum(["normal", "warn", "shed"]),
  warnRatio: z.number(),
  shedRatio: z.number(),
  samples: z.array(MemoryPoint),
});
export type MemoryHistory = z.infer<typeof MemoryHistory>;
