import type {
  LanguageModelV4FinishReason,
  LanguageModelV4StreamPart,
  LanguageModelV4Usage,
} from "@ai-sdk/provider";
import { type StreamingToolCallDelta, StreamingToolCallTracker } from "@ai-sdk/provider-utils";
import type { SseEvent } from "./sse-parser.ts";
import {
  numberOf,
  parseChunk,
  recordOf,
  type StreamDecoder,
  type StreamDecoderFactory,
  UnexpectedChunkError,
} from "./stream-decoder.ts";

/** A tool-call delta as chat-completions servers send it (Gemini's adds `extra_content`). */
type ToolCallDelta = StreamingToolCallDelta & { extra_content?: unknown };

/** The SDK's mapping of a chat-completions `finish_reason` (openai-compatible 3.0). */
function finishReasonOf(raw: string, hasRefusal: boolean): LanguageModelV4FinishReason["unified"] {
  switch (raw) {
    case "stop":
      return hasRefusal ? "content-filter" : "stop";
    case "length":
      return "length";
    case "content_filter":
      return "content-filter";
    case "function_call":
    case "tool_calls":
      return "tool-calls";
    default:
      return "other";
  }
}

/** The SDK's conversion of chat-completions `usage` (openai-compatible 3.0). */
function usageOf(usage: Record<string, unknown> | undefined): LanguageModelV4Usage {
  if (usage === undefined) {
    return {
      inputTokens: { total: undefined, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: undefined, text: undefined, reasoning: undefined },
    };
  }
  const prompt = numberOf(usage.prompt_tokens) ?? 0;
  const completion = numberOf(usage.completion_tokens) ?? 0;
  const cacheRead = numberOf(recordOf(usage.prompt_tokens_details)?.cached_tokens) ?? 0;
  const reasoning = numberOf(recordOf(usage.completion_tokens_details)?.reasoning_tokens) ?? 0;
  return {
    inputTokens: { total: prompt, noCache: prompt - cacheRead, cacheRead, cacheWrite: undefined },
    outputTokens: { total: completion, text: Math.max(0, completion - reasoning), reasoning },
    raw: usage as LanguageModelV4Usage["raw"],
  };
}

/** The text pieces of a delta's `content`: a string, or parts of which `text` ones count. */
function contentTexts(content: unknown): string[] | UnexpectedChunkError {
  if (content === undefined || content === null) return [];
  if (typeof content === "string") return content === "" ? [] : [content];
  if (!Array.isArray(content))
    return new UnexpectedChunkError("a delta's content is neither text nor parts", "");
  const texts: string[] = [];
  for (const part of content) {
    const record = recordOf(part);
    if (record?.type === "text" && typeof record.text === "string" && record.text !== "")
      texts.push(record.text);
  }
  return texts;
}

/**
 * The OpenAI chat-completions stream (what `@ai-sdk/openai-compatible`'s chat model reads): chunks
 * of `choices[0].delta` with text, refusals and tool-call deltas, a `finish_reason`, a usage chunk,
 * `[DONE]`, or an `{error}` chunk. Tool-call deltas go through the SDK's own `StreamingToolCallTracker`
 * with the same buffering the SDK does before it, so calls are cut, named and numbered as the SDK
 * would. Reasoning deltas are skipped (the provider passes none on).
 */
export const openAIChatDecoder: StreamDecoderFactory = () => new OpenAIChatDecoder();

class OpenAIChatDecoder implements StreamDecoder {
  #out: LanguageModelV4StreamPart[] = [];
  readonly #tracker = new StreamingToolCallTracker<ToolCallDelta>({
    enqueue: (part: LanguageModelV4StreamPart) => {
      // The tool-input-* parts are of no use to the provider; the finished call is.
      if (part.type === "tool-call") this.#out.push(part);
    },
  });
  /** Tool calls whose name has not come yet, by index: their arguments wait (as the SDK buffers them). */
  readonly #pending = new Map<number, { id: string | null; arguments: string; extraContent: unknown }>();
  readonly #forwarded = new Set<number>();
  #finish: LanguageModelV4FinishReason | undefined;
  #rawFinish: string | undefined;
  #usage: Record<string, unknown> | undefined;
  #hasRefusal = false;

  event(event: SseEvent, out: LanguageModelV4StreamPart[]): void {
    if (event.data === "[DONE]") return;
    const chunk = parseChunk(event.data);
    if (chunk instanceof UnexpectedChunkError) {
      this.#error(out, chunk);
      return;
    }
    if ("error" in chunk) {
      this.#error(out, chunk.error);
      return;
    }
    const choices = chunk.choices;
    if (!Array.isArray(choices)) {
      this.#error(out, new UnexpectedChunkError("a chunk without a choices array", event.data));
      return;
    }
    const usage = recordOf(chunk.usage);
    if (usage !== undefined) this.#usage = usage;
    const choice = recordOf(choices[0]);
    if (typeof choice?.finish_reason === "string") this.#rawFinish = choice.finish_reason;
    const delta = recordOf(choice?.delta);
    if (delta === undefined) return;
    const texts = contentTexts(delta.content);
    if (texts instanceof UnexpectedChunkError) {
      this.#error(out, new UnexpectedChunkError(texts.message, event.data));
      return;
    }
    for (const text of texts) out.push({ type: "text-delta", id: "txt-0", delta: text });
    if (typeof delta.refusal === "string" && delta.refusal !== "") {
      this.#hasRefusal = true;
      out.push({ type: "text-delta", id: "txt-0", delta: delta.refusal });
    }
    if (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0) {
      this.#out = out;
      for (const call of delta.tool_calls) {
        const record = recordOf(call);
        if (record !== undefined) this.#toolCallDelta(record as ToolCallDelta);
      }
    }
  }

  end(out: LanguageModelV4StreamPart[]): void {
    this.#out = out;
    for (const [index, pending] of this.#pending) {
      this.#tracker.processDelta({ index, id: pending.id, function: { arguments: pending.arguments } });
    }
    this.#pending.clear();
    this.#tracker.flush();
    if (this.#rawFinish !== undefined) {
      this.#finish = { unified: finishReasonOf(this.#rawFinish, this.#hasRefusal), raw: this.#rawFinish };
    }
    if (this.#finish === undefined) {
      this.#finish = { unified: "error", raw: undefined };
      out.push({
        type: "error",
        error: new UnexpectedChunkError("the stream ended without a finish reason", ""),
      });
    }
    out.push({ type: "finish", finishReason: this.#finish, usage: usageOf(this.#usage) });
  }

  #error(out: LanguageModelV4StreamPart[], error: unknown): void {
    this.#finish = { unified: "error", raw: undefined };
    this.#rawFinish = undefined;
    out.push({ type: "error", error });
  }

  /** The SDK's own handling: a call's arguments are held until its name is known, then forwarded. */
  #toolCallDelta(delta: ToolCallDelta): void {
    const index = delta.index;
    if (index === undefined || index === null || this.#forwarded.has(index)) {
      this.#tracker.processDelta(delta);
      return;
    }
    let pending = this.#pending.get(index);
    if (pending === undefined) {
      pending = { id: delta.id ?? null, arguments: "", extraContent: delta.extra_content ?? null };
      this.#pending.set(index, pending);
    } else {
      if (pending.id === null && delta.id != null) pending.id = delta.id;
      if (pending.extraContent === null && delta.extra_content != null)
        pending.extraContent = delta.extra_content;
    }
    const piece = delta.function?.arguments;
    if (piece != null) pending.arguments += piece;
    const name = delta.function?.name;
    if (name == null) return;
    this.#tracker.processDelta({
      index,
      id: pending.id,
      function: { name, arguments: pending.arguments },
      extra_content: pending.extraContent ?? undefined,
    });
    this.#pending.delete(index);
    this.#forwarded.add(index);
  }
}
