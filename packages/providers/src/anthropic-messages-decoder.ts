import {
  APICallError,
  type LanguageModelV4FinishReason,
  type LanguageModelV4StreamPart,
  type LanguageModelV4Usage,
} from "@ai-sdk/provider";
import { createProviderStreamError } from "@ai-sdk/provider-utils";
import type { SseEvent } from "./sse-parser.ts";
import {
  type DecodeContext,
  numberOf,
  parseChunk,
  recordOf,
  type StreamDecoder,
  type StreamDecoderFactory,
  UnexpectedChunkError,
} from "./stream-decoder.ts";

/** The SDK's mapping of a Messages `stop_reason` (anthropic 4.0; no JSON-response tool here). */
function finishReasonOf(raw: unknown): LanguageModelV4FinishReason["unified"] {
  switch (raw) {
    case "pause_turn":
    case "end_turn":
    case "stop_sequence":
      return "stop";
    case "refusal":
      return "content-filter";
    case "tool_use":
      return "tool-calls";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    default:
      return "other";
  }
}

/** Status and retryability the SDK infers from a stream error's type (anthropic 4.0). */
const streamErrorStatus: Record<string, { statusCode: number; isRetryable: boolean }> = {
  api_error: { statusCode: 500, isRetryable: true },
  overloaded_error: { statusCode: 529, isRetryable: true },
  rate_limit_error: { statusCode: 429, isRetryable: true },
  request_too_large: { statusCode: 413, isRetryable: false },
  authentication_error: { statusCode: 401, isRetryable: false },
  permission_error: { statusCode: 403, isRetryable: false },
  not_found_error: { statusCode: 404, isRetryable: false },
  billing_error: { statusCode: 400, isRetryable: false },
  invalid_request_error: { statusCode: 400, isRetryable: false },
};

interface Usage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

/** The SDK's conversion of Messages usage (anthropic 4.0, without compaction iterations). */
function usageOf(usage: Usage): LanguageModelV4Usage {
  return {
    inputTokens: {
      total: usage.input + usage.cacheWrite + usage.cacheRead,
      noCache: usage.input,
      cacheRead: usage.cacheRead,
      cacheWrite: usage.cacheWrite,
    },
    outputTokens: { total: usage.output, text: undefined, reasoning: undefined },
  };
}

/**
 * The Anthropic Messages stream (what `@ai-sdk/anthropic` reads): `message_start` (input and cache
 * usage), content blocks (`text`, `thinking`, `tool_use` with `input_json_delta` pieces),
 * `message_delta` (stop reason, output usage), `message_stop`, `ping` and `error`. As in the SDK, an
 * `error` before anything else is the answer's error (an APICallError with the status its type
 * implies), a later one a stream error, and a stream that stops after output without finishing is
 * `interrupted`. Server tools, citations and JSON-response tools, which Dispatch does not request,
 * are not decoded (their blocks are skipped).
 */
export const anthropicMessagesDecoder: StreamDecoderFactory = (context) =>
  new AnthropicMessagesDecoder(context);

type Block =
  | { type: "text" | "reasoning" | "other" }
  | { type: "tool-call"; id: string; name: string; input: string };

class AnthropicMessagesDecoder implements StreamDecoder {
  readonly #context: DecodeContext;
  readonly #blocks = new Map<number, Block>();
  readonly #usage: Usage = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
  #finish: LanguageModelV4FinishReason = { unified: "other", raw: undefined };
  #first = true;
  #messageOpen = false;
  #messageId: unknown;
  #invalidSequence = false;
  /** Output since the last finish; a stream that ends with some is `interrupted`. */
  #hasOutput = false;
  #hasError = false;

  constructor(context: DecodeContext) {
    this.#context = context;
  }

  event(event: SseEvent, out: LanguageModelV4StreamPart[]): void {
    if (this.#invalidSequence) return;
    const chunk = parseChunk(event.data);
    if (chunk instanceof UnexpectedChunkError) {
      this.#first = false;
      this.#error(out, chunk);
      return;
    }
    const type = chunk.type;
    if (type === "ping") return;
    const first = this.#first;
    this.#first = false;
    switch (type) {
      case "message_start":
        this.#messageStart(chunk, out);
        return;
      case "content_block_start":
        this.#blockStart(chunk, out);
        return;
      case "content_block_delta":
        this.#blockDelta(chunk, event.data, out);
        return;
      case "content_block_stop":
        this.#blockStop(chunk, out);
        return;
      case "message_delta":
        this.#messageDelta(chunk);
        return;
      case "message_stop":
        this.#messageOpen = false;
        this.#messageId = undefined;
        this.#hasOutput = false;
        out.push({ type: "finish", finishReason: this.#finish, usage: usageOf(this.#usage) });
        return;
      case "error":
        this.#streamError(recordOf(chunk.error) ?? {}, first, out);
        return;
      default:
        this.#error(
          out,
          new UnexpectedChunkError(`an event of unknown type ${JSON.stringify(type)}`, event.data),
        );
    }
  }

  end(out: LanguageModelV4StreamPart[]): void {
    if (this.#hasOutput && !this.#hasError) {
      out.push({
        type: "finish",
        finishReason: { unified: "interrupted", raw: undefined },
        usage: usageOf(this.#usage),
      });
    }
  }

  #error(out: LanguageModelV4StreamPart[], error: unknown): void {
    this.#hasError = true;
    out.push({ type: "error", error });
  }

  #streamError(error: Record<string, unknown>, first: boolean, out: LanguageModelV4StreamPart[]): void {
    const errorType = typeof error.type === "string" ? error.type : undefined;
    const inferred = errorType === undefined ? undefined : streamErrorStatus[errorType];
    const message = typeof error.message === "string" ? error.message : JSON.stringify(error);
    const statusCode = numberOf(error.statusCode) ?? inferred?.statusCode;
    const isRetryable = typeof error.isRetryable === "boolean" ? error.isRetryable : inferred?.isRetryable;
    const data = "data" in error ? error.data : error;
    if (first) {
      // The SDK reads the first event before it answers, and throws this for an error there.
      this.#error(
        out,
        new APICallError({
          message,
          url: this.#context.url,
          requestBodyValues: undefined,
          statusCode: statusCode ?? 500,
          responseHeaders: this.#context.responseHeaders,
          responseBody: JSON.stringify(data),
          isRetryable: isRetryable ?? false,
        }),
      );
      return;
    }
    this.#error(
      out,
      createProviderStreamError({
        message,
        type: errorType,
        code: typeof error.code === "string" ? error.code : undefined,
        statusCode,
        isRetryable,
        data,
      }),
    );
  }

  #messageStart(chunk: Record<string, unknown>, out: LanguageModelV4StreamPart[]): void {
    const message = recordOf(chunk.message) ?? {};
    if (this.#messageOpen) {
      if (this.#messageId === message.id) return;
      this.#invalidSequence = true;
      this.#error(out, new UnexpectedChunkError("a second message_start while a message is open", ""));
      return;
    }
    this.#messageOpen = true;
    this.#messageId = message.id;
    const usage = recordOf(message.usage) ?? {};
    this.#usage.input = numberOf(usage.input_tokens) ?? 0;
    this.#usage.cacheRead = numberOf(usage.cache_read_input_tokens) ?? 0;
    this.#usage.cacheWrite = numberOf(usage.cache_creation_input_tokens) ?? 0;
    if (message.stop_reason != null) {
      this.#finish = { unified: finishReasonOf(message.stop_reason), raw: String(message.stop_reason) };
    }
    if (!Array.isArray(message.content)) return;
    for (const part of message.content) {
      const block = recordOf(part);
      if (block?.type !== "tool_use") continue;
      this.#hasOutput = true;
      out.push({
        type: "tool-call",
        toolCallId: String(block.id),
        toolName: String(block.name),
        input: JSON.stringify(block.input ?? {}),
      });
    }
  }

  #blockStart(chunk: Record<string, unknown>, _out: LanguageModelV4StreamPart[]): void {
    const index = numberOf(chunk.index) ?? -1;
    const block = recordOf(chunk.content_block) ?? {};
    switch (block.type) {
      case "text":
      case "compaction":
        this.#blocks.set(index, { type: "text" });
        return;
      case "thinking":
      case "redacted_thinking":
        this.#blocks.set(index, { type: "reasoning" });
        return;
      case "tool_use": {
        const input = recordOf(block.input);
        this.#blocks.set(index, {
          type: "tool-call",
          id: String(block.id),
          name: String(block.name),
          input: input !== undefined && Object.keys(input).length > 0 ? JSON.stringify(input) : "",
        });
        return;
      }
      default:
        this.#blocks.set(index, { type: "other" });
    }
  }

  #blockDelta(chunk: Record<string, unknown>, data: string, out: LanguageModelV4StreamPart[]): void {
    const index = numberOf(chunk.index) ?? -1;
    const delta = recordOf(chunk.delta) ?? {};
    switch (delta.type) {
      case "text_delta":
        if (typeof delta.text !== "string") break;
        if (delta.text !== "") this.#hasOutput = true;
        out.push({ type: "text-delta", id: String(index), delta: delta.text });
        return;
      case "compaction_delta":
        if (typeof delta.content !== "string") return;
        if (delta.content !== "") this.#hasOutput = true;
        out.push({ type: "text-delta", id: String(index), delta: delta.content });
        return;
      case "thinking_delta":
      case "signature_delta":
      case "citations_delta":
        return;
      case "input_json_delta": {
        const piece = delta.partial_json;
        if (typeof piece !== "string") break;
        const block = this.#blocks.get(index);
        if (piece === "" || block?.type !== "tool-call") return;
        this.#hasOutput = true;
        block.input += piece;
        return;
      }
    }
    this.#error(out, new UnexpectedChunkError(`a delta of unknown type ${JSON.stringify(delta.type)}`, data));
  }

  #blockStop(chunk: Record<string, unknown>, out: LanguageModelV4StreamPart[]): void {
    const index = numberOf(chunk.index) ?? -1;
    const block = this.#blocks.get(index);
    this.#blocks.delete(index);
    if (block?.type !== "tool-call") return;
    this.#hasOutput = true;
    out.push({
      type: "tool-call",
      toolCallId: block.id,
      toolName: block.name,
      input: block.input === "" ? "{}" : block.input,
    });
  }

  #messageDelta(chunk: Record<string, unknown>): void {
    const usage = recordOf(chunk.usage) ?? {};
    const delta = recordOf(chunk.delta) ?? {};
    const input = numberOf(usage.input_tokens);
    if (input !== undefined) this.#usage.input = input;
    this.#usage.output = numberOf(usage.output_tokens) ?? 0;
    const cacheRead = numberOf(usage.cache_read_input_tokens);
    if (cacheRead !== undefined) this.#usage.cacheRead = cacheRead;
    const cacheWrite = numberOf(usage.cache_creation_input_tokens);
    if (cacheWrite !== undefined) this.#usage.cacheWrite = cacheWrite;
    this.#finish = {
      unified: finishReasonOf(delta.stop_reason),
      raw: typeof delta.stop_reason === "string" ? delta.stop_reason : undefined,
    };
  }
}
