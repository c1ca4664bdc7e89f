import { z } from "zod";
import { modelListSchema } from "./model-list.ts";

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
  stallTimeoutMs: z.number().int().min(1).default(120_000),
  /** Longest provider-given delay (Retry-After) a call waits and the provider pauses for. */
  maxRetryAfterMs: z.number().int().min(0).default(60_000),
  backoff: z
    .object({
      baseMs: z.number().int().min(0).default(1000),
      maxMs: z.number().int().min(0).default(30_000),
    })
    .strict()
    .default({ baseMs: 1000, maxMs: 30_000 }),
};

/** The common fields of a configured provider, parsed (defaults filled in). */
export type CommonProviderConfig = z.output<z.ZodObject<typeof commonProviderShape>>;
