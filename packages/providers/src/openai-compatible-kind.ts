import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { z } from "zod";
import { readApiKey } from "./api-key.ts";
import { baseURLSchema, envNameSchema } from "./common-config.ts";
import { openAIChatDecoder } from "./openai-chat-decoder.ts";
import { defineProviderKind } from "./provider-kind.ts";
import { createSdkProvider } from "./sdk-provider.ts";
import { streamDecoderSchema } from "./stream-decoder-option.ts";
import { interceptEventStreams } from "./stream-intercept.ts";

/**
 * The `openai-compatible` kind: `@ai-sdk/openai-compatible` against a required `baseURL` (OpenAI,
 * Ollama, vLLM, llama.cpp's server, OpenRouter); a key only if `apiKeyEnv` is set.
 */
export const openaiCompatibleKind = defineProviderKind({
  kind: "openai-compatible",
  options: z.object({
    baseURL: baseURLSchema,
    apiKeyEnv: envNameSchema.optional(),
    streamDecoder: streamDecoderSchema,
  }),
  create(config, env) {
    const key = readApiKey(config.apiKeyEnv, env);
    if ("status" in key) return key;
    const sdk = createOpenAICompatible({
      name: config.id,
      baseURL: config.baseURL,
      includeUsage: true,
      ...(config.streamDecoder === "dispatch" ? { fetch: interceptEventStreams() } : {}),
      ...(key.apiKey ? { apiKey: key.apiKey } : {}),
    });
    return {
      status: "available",
      ...(config.apiKeyEnv ? { apiKeyEnv: config.apiKeyEnv } : {}),
      provider: createSdkProvider({
        kind: "openai-compatible",
        providerId: config.id,
        apiKeyEnv: config.apiKeyEnv,
        secrets: key.apiKey ? [key.apiKey] : [],
        models: config.models,
        languageModel: (modelId) => sdk.chatModel(modelId),
        ...(config.streamDecoder === "dispatch" ? { decoder: openAIChatDecoder } : {}),
      }),
    };
  },
});
