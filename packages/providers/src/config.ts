import { z } from "zod";
import { builtinProviderKinds } from "./builtin-kinds.ts";
import { commonProviderShape } from "./common-config.ts";
import type { ProviderConfigOf, ProviderKind } from "./provider-kind.ts";
import { DEFAULT_SCRIPTED_REPLY } from "./script.ts";

/** One configured provider of any kind, parsed: the common fields, `kind` and that kind's options. */
export type ProviderConfig = ProviderConfigOf<z.ZodObject>;
/** The parsed `providers` slice. */
export type ProvidersConfig = ProviderConfig[];

/** What a missing `providers` slice means: one scripted provider with a friendly fallback reply. */
export const defaultProvidersConfig: ProvidersConfig = [
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

/** The message for an entry whose `kind` names no known kind. */
function unknownKindMessage(input: unknown, known: readonly string[]): string {
  const list = `(known: ${known.join(", ") || "none"})`;
  const kind = typeof input === "object" && input !== null ? (input as { kind?: unknown }).kind : undefined;
  if (kind === undefined) return `missing provider kind ${list}`;
  if (typeof kind !== "string") return `must be a string naming a provider kind ${list}`;
  return `unknown provider kind ${JSON.stringify(kind)} ${list}`;
}

/**
 * The schema of one `providers[]` entry, given the kinds there are: an object with the common
 * fields, `kind`, and the fields of that kind, strict (an unknown key is an error at its own path).
 */
export function providerConfigSchemaOf(kinds: readonly ProviderKind[]): z.ZodType<ProviderConfig> {
  const known = kinds.map((k) => k.kind).sort();
  const entries = kinds.map((k) =>
    z.object({ ...commonProviderShape, ...k.options.shape, kind: z.literal(k.kind) }).strict(),
  );
  const [first, ...rest] = entries;
  if (first === undefined) {
    return z.never({ error: (issue) => unknownKindMessage(issue.input, known) });
  }
  return z.discriminatedUnion("kind", [first, ...rest], {
    error: (issue) =>
      issue.code === "invalid_union" && "note" in issue && issue.note === "No matching discriminator"
        ? unknownKindMessage(issue.input, known)
        : undefined,
  });
}

/** The `providers` slice, given the kinds there are: a list with unique ids, the scripted provider when absent. */
export function providersConfigSchemaOf(kinds: readonly ProviderKind[]): z.ZodType<ProvidersConfig> {
  return z
    .array(providerConfigSchemaOf(kinds))
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
}

/** One entry of the `providers` slice with the built-in kinds only (for tests and benchmarks of those kinds). */
export const providerConfigSchema = providerConfigSchemaOf(builtinProviderKinds);
/** The `providers` slice with the built-in kinds only. */
export const providersConfigSchema = providersConfigSchemaOf(builtinProviderKinds);
