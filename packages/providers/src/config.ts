import { timerDelayMs } from "@dispatch/kernel";
import { z } from "zod";

/** The bound of `maxRetryAfterMs`: a day. */
export const maxRetryAfterLimitMs = 24 * 60 * 60 * 1000;

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be a lowercase slug (a-z, 0-9, -)");
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name such as ANTHROPIC_API_KEY");
const regexSource = z.string().refine(
  (source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  },
  { message: "must be a valid regular expression" },
);

/** A scripted text step: `text` streamed in `chunks` pieces `delayMs` apart. */
const textStep = z
  .object({
    text: z.string(),
    chunks: z.number().int().min(1).default(1),
    delayMs: timerDelayMs(0).default(0),
  })
  .strict();
/** A scripted tool step: the model asks for `tool` with `input`. */
const toolStep = z.object({ tool: z.string().min(1), input: z.unknown() }).strict();
/** A scripted failure (for tests of failure paths): the call ends with this provider error. */
const errorStep = z
  .object({
    error: z
      .object({
        status: z.number().int().min(400).max(599),
        message: z.string(),
        retryAfterMs: z.number().int().min(0).optional(),
      })
      .strict(),
  })
  .strict();

/** One step of a scripted reply. */
export const scriptStepSchema = z.union([textStep, toolStep, errorStep]);
/** One step of a scripted reply, parsed. */
export type ScriptStep = z.output<typeof scriptStepSchema>;

const reply = z.object({ steps: z.array(scriptStepSchema) }).strict();

/** The script of a `scripted` provider (DESIGN §8). */
export const scriptSchema = z
  .object({
    replies: z.array(reply.extend({ when: regexSource }).strict()).default([]),
    fallback: reply.optional(),
  })
  .strict();
/** A parsed script. */
export type Script = z.output<typeof scriptSchema>;

/** The reply of the default scripted provider. */
export const DEFAULT_SCRIPTED_REPLY = "Hello from the scripted provider.";

const common = {
  id: slug,
  baseURL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  models: z.array(z.string().min(1)).default([]),
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

const anthropicProvider = z
  .object({ ...common, kind: z.literal("anthropic"), apiKeyEnv: envName.default("ANTHROPIC_API_KEY") })
  .strict();
const openaiCompatibleProvider = z
  .object({
    ...common,
    kind: z.literal("openai-compatible"),
    baseURL: common.baseURL.unwrap(),
    apiKeyEnv: envName.optional(),
  })
  .strict();
const scriptedProvider = z
  .object({ ...common, kind: z.literal("scripted"), script: scriptSchema.optional() })
  .strict();

/** One configured provider. */
export const providerConfigSchema = z.discriminatedUnion("kind", [
  anthropicProvider,
  openaiCompatibleProvider,
  scriptedProvider,
]);
/** One configured provider, parsed (defaults filled in). */
export type ProviderConfig = z.output<typeof providerConfigSchema>;

/** What a missing `providers` slice means: one scripted provider with a friendly fallback reply. */
export const defaultProvidersConfig: ProviderConfig[] = [
  {
    id: "scripted",
    kind: "scripted",
    models: [],
    maxConcurrent: 2,
    maxAttempts: 4,
    stallTimeoutMs: 120_000,
    maxRetryAfterMs: 60_000,
    backoff: { baseMs: 1000, maxMs: 30_000 },
    script: { replies: [], fallback: { steps: [{ text: DEFAULT_SCRIPTED_REPLY, chunks: 1, delayMs: 0 }] } },
  },
];

/** The `providers` config slice: a list of providers with unique ids. */
export const providersConfigSchema = z
  .array(providerConfigSchema)
  .superRefine((providers, ctx) => {
    const seen = new Map<string, number>();
    providers.forEach((provider, index) => {
      const first = seen.get(provider.id);
      if (first === undefined) seen.set(provider.id, index);
      else
        ctx.addIssue({
          code: "custom",
          path: [index, "id"],
          message: `duplicate provider id "${provider.id}" (also at index ${first})`,
        });
    });
  })
  .default(defaultProvidersConfig);
/** The parsed `providers` slice. */
export type ProvidersConfig = z.output<typeof providersConfigSchema>;
