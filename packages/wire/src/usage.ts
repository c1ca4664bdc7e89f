import { z } from "zod";
import { Slug } from "./schemas.ts";

const IsoTime = z.string().describe("ISO-8601 time");
const tokens = z.number().int().min(0);

/** How `GET /usage` groups its sums. */
export const UsageGroupBy = z.enum(["day", "conversation", "model"]);
export type UsageGroupBy = z.infer<typeof UsageGroupBy>;

/** An ISO-8601 date (`2026-12-01`, midnight UTC) or date-time (`2026-12-01T08:00:00Z`). */
const TimeBound = z
  .string()
  .max(64)
  .refine((text) => /^\d{4}-\d{2}-\d{2}/.test(text) && Number.isFinite(Date.parse(text)), {
    message: "must be an ISO-8601 date or date-time, such as 2026-12-01 or 2026-12-01T08:00:00Z",
  });

/** The query of `GET /usage`: calls at or after `from` and before `to`, of one workspace or all. */
export const UsageQuery = z
  .object({
    workspaceId: Slug.optional(),
    from: TimeBound.optional(),
    to: TimeBound.optional(),
    groupBy: UsageGroupBy.default("day"),
  })
  .strict();
export type UsageQuery = z.infer<typeof UsageQuery>;

/** Sums over model calls. `cachedInputTokens` is a part of `inputTokens`; `totalTokens` is input plus output. */
export const UsageTotals = z.object({
  calls: z.number().int().min(0),
  inputTokens: tokens,
  outputTokens: tokens,
  cachedInputTokens: tokens,
  totalTokens: tokens,
  /** Cost in the price table's currency of the priced calls; null when none was priced. */
  cost: z.number().nullable(),
  /** Calls whose provider and model have no price in `budgets.prices`. */
  unpricedCalls: z.number().int().min(0),
});
export type UsageTotals = z.infer<typeof UsageTotals>;

/** One group of `GET /usage`: the key fields of its `groupBy`, then the sums. */
export const UsageGroup = UsageTotals.extend({
  /** `groupBy=day`: the day in `budgets.timeZone`. */
  day: z.string().optional(),
  /** `groupBy=conversation`. */
  conversationId: z.string().optional(),
  workspaceId: Slug.optional(),
  /** `groupBy=model`. */
  provider: z.string().optional(),
  model: z.string().optional(),
});
export type UsageGroup = z.infer<typeof UsageGroup>;

/** `GET /usage`. */
export const UsageReport = z.object({
  workspaceId: Slug.nullable(),
  from: IsoTime.nullable(),
  to: IsoTime.nullable(),
  groupBy: UsageGroupBy,
  /** The zone whose days `groupBy=day` uses and daily budgets reset in. */
  timeZone: z.string(),
  /** Days oldest first; conversations and models by total tokens, most first. */
  groups: z.array(UsageGroup),
  total: UsageTotals,
});
export type UsageReport = z.infer<typeof UsageReport>;
