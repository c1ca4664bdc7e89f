import type { BuiltProvider, ProviderEnv } from "./provider-kind.ts";

/**
 * Reads the key a provider names, once: `{ apiKey }` (undefined when no variable is named) or the
 * `unavailable` answer for a named variable that is unset or empty.
 */
export function readApiKey(
  apiKeyEnv: string | undefined,
  env: ProviderEnv,
): { apiKey: string | undefined } | Extract<BuiltProvider, { status: "unavailable" }> {
  const apiKey = apiKeyEnv ? env[apiKeyEnv] : undefined;
  if (apiKeyEnv && !apiKey) {
    return { status: "unavailable", reason: `set the environment variable ${apiKeyEnv}`, apiKeyEnv };
  }
  return { apiKey };
}
