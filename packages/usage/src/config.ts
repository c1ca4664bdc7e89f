import { z } from "zod";

const tokenLimit = z.number().int().min(1);

/** A model's prices per million tokens; `cachedInput` (cache reads) defaults to `input`. */
const price = z
  .object({
    input: z.number().min(0),
    output: z.number().min(0),
    cachedInput: z.number().min(0).optional(),
  })
  .strict();
/** A model's prices, parsed. */
export type Price = z.output<typeof price>;

/** The `budgets` config slice (DESIGN §16): token budgets, the price table and how calls are estimated. */
export const budgetsConfigSchema = z
  .object({
    /** Tokens one turn may spend (every model call of it, summarising calls included). */
    perTurnTokens: tokenLimit.optional(),
    /** Tokens one workspace may spend per day (in `timeZone`). */
    workspaceDailyTokens: tokenLimit.optional(),
    /** Tokens the whole host (every workspace on this store) may spend per day. */
    hostDailyTokens: tokenLimit.optional(),
    /** Prices per million tokens, by provider id and then model id; calls without a price have no cost. */
    prices: z.record(z.string().min(1), z.record(z.string().min(1), price)).default({}),
    /** The IANA zone whose midnight starts a budget day and a `groupBy=day` group. */
    timeZone: z
      .string()
      .refine(isTimeZone, { message: "must be an IANA time zone such as UTC or Europe/Paris" })
      .default("UTC"),
    /** Output tokens a call's estimate counts when its request sets no `maxOutputTokens`. */
    outputReserveTokens: z.number().int().min(0).default(1024),
  })
  .strict()
  .prefault({});

/** The parsed `budgets` slice. */
export type BudgetsConfig = z.output<typeof budgetsConfigSchema>;

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
