import { createServiceRef } from "@dispatch/kernel";

/** A tool as the model sees it: name, description and a JSON schema for its input (generated from zod). */
export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** The conversation as handed to a provider. */
export type ModelMessage =
  | { role: "user"; content: string }
  | {
      role: "assistant";
      parts: Array<
        | { type: "text"; text: string }
        | { type: "tool-call"; toolCallId: string; toolName: string; input: unknown }
      >;
    }
  | {
      role: "tool";
      results: Array<{ toolCallId: string; toolName: string; output: string; isError: boolean }>;
    };

/** One model call's input. */
export interface ModelRequest {
  model: string;
  system?: string;
  messages: ModelMessage[];
  tools: ToolSpec[];
  maxOutputTokens?: number;
}

/** Why a model call stopped. */
export type FinishReason = "stop" | "tool-calls" | "length" | "content-filter" | "error" | "other";

/** Parts of one model call's stream. Errors travel as parts; only misuse throws. */
export type StreamPart =
  /** A piece of the answer's text. */
  | { type: "text-delta"; text: string }
  /** A tool call with parsed input. */
  | { type: "tool-call"; toolCallId: string; toolName: string; input: unknown }
  /** A tool call whose arguments were not valid JSON; the turn engine sends `message` back as a tool error. */
  | { type: "tool-call-error"; toolCallId: string; toolName: string; rawInput: string; message: string }
  /**
   * Token usage of the call. `inputTokens` counts the whole prompt; `cachedInputTokens` (absent when
   * the provider reported none) is the part of it read from the provider's prompt cache.
   */
  | { type: "usage"; inputTokens: number; outputTokens: number; cachedInputTokens?: number }
  /** The call ended normally. */
  | { type: "finish"; reason: FinishReason }
  /** (Service only) the call is waiting: for a slot in the queue, or backing off before a retry. */
  | { type: "waiting"; reason: "queue" | "retry"; attempt: number; retryInMs?: number; message?: string }
  /** (Service only) a slot was granted; the model call starts now. */
  | { type: "slot-granted"; attempt: number }
  /** The call failed; no further parts follow. */
  | { type: "error"; error: ProviderErrorInfo };

/** The parts that are the model's answer (text or a tool call): once one came, the provider read the prompt. */
export const answerPartTypes: ReadonlySet<StreamPart["type"]> = new Set([
  "text-delta",
  "tool-call",
  "tool-call-error",
]);

/** Error codes of provider failures. */
export type ProviderErrorCode =
  | "rate_limited"
  | "overloaded"
  | "unavailable"
  | "auth"
  | "quota"
  | "missing_key"
  | "bad_request"
  | "stream_error"
  | "stalled"
  | "aborted"
  | "provider_queue_full"
  | "unknown_provider"
  /** Not the provider's answer: a budget refused the call before it started (see the turn engine's call gates). */
  | "budget_exceeded";

/** A provider failure as data. Never contains an API key. */
export interface ProviderErrorInfo {
  code: ProviderErrorCode;
  message: string;
  /** HTTP status the provider answered, if any. */
  status?: number;
  retryable: boolean;
  /** Delay the provider asked for (Retry-After / retry-after-ms), if any. */
  retryAfterMs?: number;
}

/** One model call, with no queueing or retries: what each provider kind implements. */
export interface ModelProvider {
  readonly id: string;
  /** The kind that built it: a built-in one (`anthropic`, `openai-compatible`, `scripted`) or a contributed one. */
  readonly kind: string;
  stream(request: ModelRequest, signal: AbortSignal): AsyncIterable<StreamPart>;
}

/** Who is asking, for the queue and for logs. */
export interface CallContext {
  signal: AbortSignal;
  workspaceId: string;
  conversationId: string;
  turnId: string;
  promptStartedAt: number;
}

/** A configured provider as listed by the service. */
export interface ProviderDescriptor {
  id: string;
  kind: ModelProvider["kind"];
  models: string[];
  /** Context window (tokens) of the models whose `models` entry gives one, by model id; absent when none does. */
  contextWindows?: Record<string, number>;
  maxConcurrent: number;
  /** `unavailable` with a reason when, say, its API key variable is not set. */
  status: "available" | "unavailable";
  reason?: string;
}

/** The service the `providers` extension provides. */
export interface ProvidersService {
  list(): ProviderDescriptor[];
  get(id: string): ProviderDescriptor | undefined;
  /**
   * One model call through the concurrency manager: waits for a slot, streams, releases on every
   * exit path, retries 429/529/503/overloaded before the first token (keeping `promptStartedAt`),
   * aborts a stalled stream. Failures come out as an `error` part, never as a throw.
   */
  stream(providerId: string, request: ModelRequest, context: CallContext): AsyncIterable<StreamPart>;
  /**
   * The same call with its parts pushed into `sink` as they come, with no generator between the
   * call and its consumer (what a turn uses). Resolves once the call is over; rejects only with what
   * the sink threw, which ends the call (its slot is released, its stream closed).
   */
  call(providerId: string, request: ModelRequest, context: CallContext, sink: PartSink): Promise<void>;
}

/**
 * Receives one call's parts in order. When it returns a promise the call reads its next part only
 * once that settles, so a sink that writes to a store keeps pace with the stream.
 */
export type PartSink = (part: StreamPart) => void | Promise<void>;

/** The service ref of `ProvidersService`. */
export const providersRef = createServiceRef<ProvidersService>("providers");
