export { anthropicKind } from "./anthropic-kind.ts";
export { type BackoffOptions, backoffDelay } from "./backoff.ts";
export { builtinProviderKinds } from "./builtin-kinds.ts";
export {
  classifyAnswer,
  classifyProviderError,
  type ErrorSubject,
  type ProviderAnswer,
  parseRetryAfter,
  redact,
} from "./classify-error.ts";
export { type CommonProviderConfig, commonProviderShape } from "./common-config.ts";
export {
  defaultProvidersConfig,
  type ProviderConfig,
  type ProvidersConfig,
  providerConfigSchema,
  providerConfigSchemaOf,
  providersConfigSchema,
  providersConfigSchemaOf,
} from "./config.ts";
export { createModelProvider } from "./create-model-provider.ts";
export { providersExtension } from "./extension.ts";
export {
  contextWindowsOf,
  type ModelEntry,
  modelEntrySchema,
  modelIds,
  modelListSchema,
} from "./model-list.ts";
export { openaiCompatibleKind } from "./openai-compatible-kind.ts";
export { streamOfCall } from "./part-stream.ts";
export {
  type BuiltProvider,
  defineProviderKind,
  type ProviderConfigOf,
  type ProviderEnv,
  type ProviderKind,
  providerKindsPoint,
} from "./provider-kind.ts";
export {
  createProvidersService,
  type ProviderSettings,
  type ProvidersServiceObserver,
  type ProvidersServiceOptions,
} from "./providers-service.ts";
export { DEFAULT_SCRIPTED_REPLY, type Script, type ScriptStep, scriptSchema } from "./script.ts";
export { scriptedKind } from "./scripted-kind.ts";
export { createScriptedProvider } from "./scripted-provider.ts";
export { createSdkProvider, parseToolInput, type SdkProviderOptions } from "./sdk-provider.ts";
export { charsPerToken, estimatePromptTokens, estimateTextTokens, promptChars } from "./token-estimate.ts";
export { toolSpecFromZod } from "./tool-spec.ts";
export {
  answerPartTypes,
  type CallContext,
  type FinishReason,
  type ModelMessage,
  type ModelProvider,
  type ModelRequest,
  type PartSink,
  type ProviderDescriptor,
  type ProviderErrorCode,
  type ProviderErrorInfo,
  type ProvidersService,
  providersRef,
  type StreamPart,
  type ToolSpec,
} from "./types.ts";
