import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { ProviderConfig } from "./config.ts";
import { createScriptedProvider } from "./scripted-provider.ts";
import { createSdkProvider } from "./sdk-provider.ts";
import type { ModelProvider } from "./types.ts";

/** A configured provider, built or found unusable. */
export type BuiltProvider =
  | { status: "available"; provider: ModelProvider; apiKeyEnv?: string }
  | { status: "unavailable"; reason: string; apiKeyEnv: string };

/**
 * Builds the provider a config entry describes. Keys are read from `env[apiKeyEnv]` here, once, and
 * handed to the SDK explicitly so that the SDK never reads the environment itself.
 */
export function createModelProvider(
  config: ProviderConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): BuiltProvider {
  if (config.kind === "scripted") {
    return { status: "available", provider: createScriptedProvider(config.id, config.script) };
  }
  const apiKeyEnv = config.apiKeyEnv;
  const apiKey = apiKeyEnv ? env[apiKeyEnv] : undefined;
  if (apiKeyEnv && !apiKey) {
    return { status: "unavailable", reason: `set the environment variable ${apiKeyEnv}`, apiKeyEnv };
  }
  const secrets = apiKey ? [apiKey] : [];
  if (config.kind === "anthropic") {
    const sdk = createAnthropic({ apiKey, ...(config.baseURL ? { baseURL: config.baseURL } : {}) });
    return {
      status: "available",
      apiKeyEnv,
      provider: createSdkProvider({
        kind: "anthropic",
        providerId: config.id,
        apiKeyEnv,
        secrets,
        models: config.models,
        languageModel: (modelId) => sdk.languageModel(modelId),
      }),
    };
  }
  const sdk = createOpenAICompatible({
    name: config.id,
    baseURL: config.baseURL,
    includeUsage: true,
    ...(apiKey ? { apiKey } : {}),
  });
  return {
    status: "available",
    apiKeyEnv,
    provider: createSdkProvider({
      kind: "openai-compatible",
      providerId: config.id,
      apiKeyEnv,
      secrets,
      models: config.models,
      languageModel: (modelId) => sdk.chatModel(modelId),
    }),
  };
}
