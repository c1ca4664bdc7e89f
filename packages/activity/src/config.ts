import { z } from "zod";

/** The `activity` config slice. */
export const activityConfigSchema = z
  .object({
    /** Entries kept in memory, for `GET /activity` (the newest 100) and for streams that resume. */
    keep: z.number().int().min(100).max(100_000).default(1000),
    /** How often an open stream gets a heartbeat comment. */
    heartbeatMs: z.number().int().min(10).default(15_000),
    /** Entries a stream client may have waiting before it is dropped as too slow. */
    maxBuffered: z.number().int().min(1).default(1000),
  })
  .strict()
  .prefault({});

/** Parsed `activity` config. */
export type ActivityConfig = z.output<typeof activityConfigSchema>;
