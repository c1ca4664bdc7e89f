export { type BackoffOptions, backoffDelay } from "./backoff.ts";
export {
  classifyAnswer,
  classifyProviderError,
  type ErrorSubject,
  type ProviderAnswer,
  parseRetryAfter,
  redact,
} from "./classify-error.ts";
export {
  DEFAULT_SCRIPTED_REPLY,
  defaultProvidersConfig,
  type ProviderConfig,
  type ProvidersConfig,
  providerConfigSchema,
  providersConfigSchema,
  type Script,
  type ScriptStep,
  scriptSchema,
} from "./config.ts";
export { type BuiltProvider, createModelProvider } from "./create-model-provider.ts";
export { providersExtension } from "./extension.ts";
export {
  contextWindowsOf,
  type ModelEntry,
  modelEntrySchema,
  modelIds,
  modelListSchema,
} from "./model-list.ts";
export {
  createProvidersService,
  type ProviderSettings,
  type ProvidersServiceObserver,
  type ProvidersServiceOptions,
} from "./providers-service.ts";
export { createScriptedProvider } from "./scripted-provider.ts";
export { createSdkProvider, parseToolInput, type SdkProviderOptions } from "./sdk-provider.ts";
export { charsPerToken, estimatePromptTokens, estimateTextTokens, promptChars } from "./token-estimate.ts";
export { toolSpecFromZod } from "./tool-spec.ts";
export {
  type CallContext,
  type FinishReason,
  type ModelMessage,
  type ModelProvider,
  type ModelRequest,
  type ProviderDescriptor,
  type ProviderErrorCode,
  type ProviderErrorInfo,
  type ProvidersService,
  providersRef,
  type StreamPart,
  type ToolSpec,
} from "./types.ts";
