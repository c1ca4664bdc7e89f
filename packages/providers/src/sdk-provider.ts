import type {
  LanguageModelV4,
  LanguageModelV4FinishReason,
  LanguageModelV4StreamPart,
} from "@ai-sdk/provider";
import { abortedError, classifyProviderError, type ErrorSubject } from "./classify-error.ts";
import { type ModelEntry, modelIds } from "./model-list.ts";
import { decodedPartSource, type PartSource, sdkPartSource } from "./part-source.ts";
import type { StreamDecoderFactory } from "./stream-decoder.ts";
import { eventStreamAnswerOf } from "./stream-intercept.ts";
import { toCallOptions } from "./to-call-options.ts";
import {
  answerPartTypes,
  type FinishReason,
  type ModelProvider,
  type ModelRequest,
  type StreamPart,
} from "./types.ts";

/** What a provider kind built on an AI SDK language model needs. */
export interface SdkProviderOptions extends ErrorSubject {
  /** The provider kind, as `ModelProvider.kind`. */
  kind: string;
  /** The models of this provider; the first is used when a request names none. */
  models: readonly ModelEntry[];
  /**
   * Builds the SDK model for one model id (the SDK's own retries never run: we call `doStream`).
   * Called once per model id: the provider keeps what it returns for every later call.
   */
  languageModel(modelId: string): LanguageModelV4;
  /**
   * Decodes successful event streams instead of the SDK (its models must then be built with
   * `interceptEventStreams()` as their `fetch`); without it the SDK's own stream is read.
   */
  decoder?: StreamDecoderFactory;
}

/** Parses a tool call's JSON arguments; an empty string means "no arguments". */
export function parseToolInput(raw: string): { ok: true; input: unknown } | { ok: false; message: string } {
  if (raw.trim() === "") return { ok: true, input: {} };
  try {
    return { ok: true, input: JSON.parse(raw) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      message: `the tool call's arguments are not valid JSON (${reason}); send valid JSON`,
    };
  }
}

function toFinishReason(reason: LanguageModelV4FinishReason["unified"]): FinishReason | undefined {
  return reason === "interrupted" ? undefined : reason;
}

/** Maps one SDK part; `undefined` means nothing to pass on. */
function mapPart(part: LanguageModelV4StreamPart, subject: ErrorSubject): StreamPart[] | undefined {
  switch (part.type) {
    case "text-delta":
      return part.delta === "" ? undefined : [{ type: "text-delta", text: part.delta }];
    case "tool-call": {
      const parsed = parseToolInput(part.input);
      return parsed.ok
        ? [{ type: "tool-call", toolCallId: part.toolCallId, toolName: part.toolName, input: parsed.input }]
        : [
            {
              type: "tool-call-error",
              toolCallId: part.toolCallId,
              toolName: part.toolName,
              rawInput: part.input,
              message: parsed.message,
            },
          ];
    }
    case "finish": {
      const reason = toFinishReason(part.finishReason.unified);
      if (reason === undefined) {
        return [
          {
            type: "error",
            error: {
              code: "stream_error",
              message: `provider "${subject.providerId}" ended the stream before it finished its answer`,
              retryable: false,
            },
          },
        ];
      }
      // The SDK's input total includes cache reads (both kinds); they are passed on as a part of it.
      const cached = part.usage.inputTokens.cacheRead ?? 0;
      return [
        {
          type: "usage",
          inputTokens: part.usage.inputTokens.total ?? 0,
          outputTokens: part.usage.outputTokens.total ?? 0,
          ...(cached > 0 ? { cachedInputTokens: cached } : {}),
        },
        { type: "finish", reason },
      ];
    }
    case "error":
      return [{ type: "error", error: classifyProviderError(subject, part.error) }];
    default:
      return undefined;
  }
}

/** SDK models kept per provider (one per model id, oldest dropped first). */
const maxKeptModels = 32;

/**
 * One model call through an AI SDK language model's `doStream`. Never throws for provider
 * failures: they end the stream as an `error` part. The abort signal goes to fetch itself, so
 * aborting closes the HTTP connection; an already-aborted signal makes no request at all.
 */
async function* streamModel(
  options: SdkProviderOptions,
  modelOf: (modelId: string) => LanguageModelV4,
  request: ModelRequest,
  signal: AbortSignal,
): AsyncGenerator<StreamPart> {
  if (signal.aborted) {
    yield { type: "error", error: abortedError(options.providerId, signal.reason) };
    return;
  }
  const modelId = request.model || modelIds(options.models)[0];
  if (!modelId) {
    yield {
      type: "error",
      error: {
        code: "bad_request",
        message: `no model given for provider "${options.providerId}": set defaults.model or the provider's models in config`,
        retryable: false,
      },
    };
    return;
  }
  let source: PartSource;
  try {
    source = sdkPartSource((await modelOf(modelId).doStream(toCallOptions(request, signal))).stream);
  } catch (error) {
    // A successful event stream that our decoder takes over arrives here, as what fetch threw.
    const answer = options.decoder === undefined ? undefined : eventStreamAnswerOf(error);
    if (answer === undefined || signal.aborted) {
      const info = signal.aborted
        ? abortedError(options.providerId, signal.reason)
        : classifyProviderError(options, error);
      answer?.response.body?.cancel().catch(() => {});
      yield { type: "error", error: info };
      return;
    }
    source = decodedPartSource(answer.response, options.decoder as StreamDecoderFactory);
  }
  let sawContent = false;
  try {
    while (true) {
      let batch: LanguageModelV4StreamPart[] | null;
      try {
        batch = await source.read();
      } catch (error) {
        const info = signal.aborted
          ? abortedError(options.providerId, signal.reason)
          : classifyProviderError(options, error);
        yield { type: "error", error: sawContent ? { ...info, retryable: false } : info };
        return;
      }
      if (batch === null) break;
      for (const sdkPart of batch) {
        const parts = mapPart(sdkPart, options);
        if (!parts) continue;
        for (const part of parts) {
          if (part.type === "error") {
            yield { type: "error", error: sawContent ? { ...part.error, retryable: false } : part.error };
            return;
          }
          if (answerPartTypes.has(part.type)) sawContent = true;
          yield part;
          if (part.type === "finish") return;
        }
      }
    }
    yield {
      type: "error",
      error: {
        code: "stream_error",
        message: `provider "${options.providerId}" closed the stream without finishing its answer`,
        retryable: false,
      },
    };
  } finally {
    // Stops the body (and so the HTTP connection) when the consumer leaves early.
    source.cancel();
  }
}

/** A ModelProvider over an AI SDK language model (the anthropic and openai-compatible kinds). */
export function createSdkProvider(options: SdkProviderOptions): ModelProvider {
  // An SDK model is a stateless description of the calls; building one (the openai-compatible kind
  // builds its chunk schemas then) cost several ms per call, and a schema shared by every call stays
  // monomorphic in the JIT where one per call does not (notes/benchmarks.md, hot path).
  const models = new Map<string, LanguageModelV4>();
  const modelOf = (modelId: string): LanguageModelV4 => {
    let model = models.get(modelId);
    if (model === undefined) {
      model = options.languageModel(modelId);
      // A conversation may name any model: keep the most recent few, not one per name ever seen.
      if (models.size >= maxKeptModels) models.delete(models.keys().next().value as string);
      models.set(modelId, model);
    }
    return model;
  };
  return {
    id: options.providerId,
    kind: options.kind,
    stream: (request, signal) => streamModel(options, modelOf, request, signal),
  };
}
