import { timerDelayMs } from "@dispatch/kernel";
import { z } from "zod";
import { modelListSchema } from "./model-list.ts";

/** The bound of `maxRetryAfterMs`: a day. */
export const maxRetryAfterLimitMs = 24 * 60 * 60 * 1000;

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be a lowercase slug (a-z, 0-9, -)");

/** An environment variable name, for a kind's `apiKeyEnv`. */
export const envNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name such as ANTHROPIC_API_KEY");

/** An http(s) URL, the type of `baseURL`. */
export const baseURLSchema = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });

/** The fields every provider has, whatever its kind: identity, models, slots, retries, stalls. */
export const commonProviderShape = {
  id: slug,
  baseURL: baseURLSchema.optional(),
  /** Model ids, or `{ id, contextWindow }` for a model whose window is known (compaction uses it). */
  models: modelListSchema,
  maxConcurrent: z.number().int().min(1).default(1),
  maxAttempts: z.number().int().min(1).max(20).default(4),
  stallTimeoutMs: timerDelayMs(1).default(120_000),
  /**
   * Longest provider-given delay (Retry-After) a call waits and the provider pauses for; at most a
   * day, since a turn held longer than that is better failed with the reason.
   */
  maxRetryAfterMs: z
    .number()
    .int()
    .min(0)
    .max(maxRetryAfterLimitMs, `must be at most ${maxRetryAfterLimitMs} ms (a day)`)
    .default(60_000),
  backoff: z
    .object({
      baseMs: timerDelayMs(0).default(1000),
      maxMs: timerDelayMs(0).default(30_000),
    })
    .strict()
    .default({ baseMs: 1000, maxMs: 30_000 }),
};

/** The common fields of a configured provider, parsed (defaults filled in). */
export type CommonProviderConfig = z.output<z.ZodObject<typeof commonProviderShape>>;
