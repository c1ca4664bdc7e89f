import { z } from "zod";

const ms = (max: number) => z.number().int().min(0).max(max);
const day = 86_400_000;

/** The `tasks` config slice (DESIGN §12). */
export const tasksConfigSchema = z
  .object({
    /** Attempts running at once, across every process on the database. */
    maxRunning: z.number().int().min(1).max(1000).default(2),
    /** Tasks waiting (queued) at most; past it `POST /tasks` answers 429 `queue_full`. */
    maxQueued: z.number().int().min(1).max(10_000_000).default(10_000),
    /** Least time between two attempt starts. */
    cooldownMs: ms(day).default(0),
    /** Per day (in `timeZone`): attempts started and tokens spent. */
    dailyBudget: z
      .object({
        attempts: z.number().int().min(1).optional(),
        tokens: z.number().int().min(1).optional(),
      })
      .strict()
      .default({}),
    /** IANA time zone whose midnight starts a budget day. */
    timeZone: z
      .string()
      .refine(isTimeZone, { message: "must be an IANA time zone such as UTC or Europe/Paris" })
      .default("UTC"),
    /** An attempt with no heartbeat for this long (plus `stuckGraceMs`) is stopped and marked stuck. */
    stuckAfterMs: z.number().int().min(100).max(day).default(300_000),
    /** Extra time before a silent attempt counts as stuck, so a heartbeat in flight is never killed. */
    stuckGraceMs: ms(3_600_000).default(5_000),
    /** Wait before the 1st, 2nd, … retry; the last entry repeats. */
    retryBackoffMs: z
      .array(ms(7 * day))
      .min(1)
      .default([60_000, 300_000, 1_800_000]),
    /** Attempts of a task unless it asks for its own number. */
    maxAttempts: z.number().int().min(1).max(20).default(3),
    /** An unstarred task waiting longer than this is ordered as if starred (no starvation). */
    agingMs: z
      .number()
      .int()
      .min(1)
      .max(30 * day)
      .default(120_000),
    breaker: z
      .object({
        /** Failed attempts in a row that hold a workspace's queue back. */
        failures: z.number().int().min(1).max(1000).default(5),
        cooldownMs: ms(7 * day).default(600_000),
      })
      .strict()
      .default({ failures: 5, cooldownMs: 600_000 }),
    /** The scheduler's one timer: claims and stuck checks. */
    tickMs: z.number().int().min(10).max(60_000).default(1000),
  })
  .strict()
  .default({
    maxRunning: 2,
    maxQueued: 10_000,
    cooldownMs: 0,
    dailyBudget: {},
    timeZone: "UTC",
    stuckAfterMs: 300_000,
    stuckGraceMs: 5_000,
    retryBackoffMs: [60_000, 300_000, 1_800_000],
    maxAttempts: 3,
    agingMs: 120_000,
    breaker: { failures: 5, cooldownMs: 600_000 },
    tickMs: 1000,
  });

/** The parsed `tasks` slice. */
export type TasksConfig = z.output<typeof tasksConfigSchema>;

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
