import { createAnthropic } from "@ai-sdk/anthropic";
import { z } from "zod";
import { anthropicMessagesDecoder } from "./anthropic-messages-decoder.ts";
import { readApiKey } from "./api-key.ts";
import { envNameSchema } from "./common-config.ts";
import { defineProviderKind } from "./provider-kind.ts";
import { createSdkProvider } from "./sdk-provider.ts";
import { streamDecoderSchema } from "./stream-decoder-option.ts";
import { interceptEventStreams } from "./stream-intercept.ts";

/** The `anthropic` kind: `@ai-sdk/anthropic`, with a key that is required and defaults to ANTHROPIC_API_KEY. */
export const anthropicKind = defineProviderKind({
  kind: "anthropic",
  options: z.object({
    apiKeyEnv: envNameSchema.default("ANTHROPIC_API_KEY"),
    streamDecoder: streamDecoderSchema,
  }),
  create(config, env) {
    const key = readApiKey(config.apiKeyEnv, env);
    if ("status" in key) return key;
    // the key is handed to the SDK explicitly so that the SDK never reads the environment itself
    const sdk = createAnthropic({
      apiKey: key.apiKey,
      ...(config.baseURL ? { baseURL: config.baseURL } : {}),
      ...(config.streamDecoder === "dispatch" ? { fetch: interceptEventStreams() } : {}),
    });
    return {
      status: "available",
      apiKeyEnv: config.apiKeyEnv,
      provider: createSdkProvider({
        kind: "anthropic",
        providerId: config.id,
        apiKeyEnv: config.apiKeyEnv,
        secrets: key.apiKey ? [key.apiKey] : [],
        models: config.models,
        languageModel: (modelId) => sdk.languageModel(modelId),
        ...(config.streamDecoder === "dispatch" ? { decoder: anthropicMessagesDecoder } : {}),
      }),
    };
  },
});
