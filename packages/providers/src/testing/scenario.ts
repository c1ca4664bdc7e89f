/**
 * What a wire-format test server answers to one request. The same scenario plays in both wire
 * formats (Anthropic Messages SSE, OpenAI chat-completions SSE), so a test can run one story
 * against every real provider kind.
 */
import { splitText } from "../split-text.ts";

/** A provider-side error as both wire formats carry it (`error.type`, `error.message`). */
export interface WireError {
  /** Anthropic `error.type` / OpenAI `error.type`, e.g. `overloaded_error`, `insufficient_quota`. */
  type: string;
  message: string;
  /** OpenAI's `error.code` (Anthropic ignores it). */
  code?: string;
}

/** One step of a streamed answer. */
export type ScenarioStep =
  /** One text delta (one SSE event / chunk). */
  | { text: string }
  /** A tool call whose raw argument text (`args`, possibly not valid JSON) is sent in `pieces` deltas. */
  | { tool: { id?: string; name: string; args: string; pieces?: number } }
  /** Pause between events. */
  | { delayMs: number }
  /** Pause until the promise settles (lets a test hold a call "in flight" as long as it likes). */
  | { gate: Promise<unknown> }
  /** An error event mid-stream; the stream then ends without a finish. */
  | { error: WireError }
  /** Stop sending but keep the connection open until the client leaves or the server stops. */
  | { hang: true }
  /** Drop the connection abruptly (the client sees a reset, not a clean end). */
  | { reset: true };

/** The answer to one request. */
export type Scenario =
  /** 200 with an SSE stream of `steps`, then usage and the finish (unless a step ended the stream). */
  | {
      stream: ScenarioStep[];
      /** `cached`: input tokens read from the provider's prompt cache (part of `input`). */
      usage?: { input: number; output: number; cached?: number };
      /** Defaults to `tool-calls` when a tool step was sent, else `stop`. */
      finish?: "stop" | "tool-calls" | "length";
    }
  /** A non-200 answer with the format's JSON error body and the given headers (e.g. `retry-after`). */
  | {
      status: number;
      headers?: Record<string, string>;
      error?: WireError;
      rawBody?: string;
      /** Answer only once this settles (holds the call "in flight" until the test lets it fail). */
      after?: Promise<unknown>;
    }
  /** Accept the request and never send the response headers. */
  | { hangBeforeHeaders: true };

/** A text answer streamed in `pieces` deltas. */
export function textScenario(text: string, pieces = 1): Scenario {
  return { stream: splitText(text, pieces).map((piece) => ({ text: piece })) };
}

/** A tool-call answer (one call per entry), arguments given as values and sent in 2 pieces each. */
export function toolScenario(calls: Array<{ name: string; input: unknown; id?: string }>): Scenario {
  return {
    stream: calls.map((call) => ({
      tool: { id: call.id, name: call.name, args: JSON.stringify(call.input), pieces: 2 },
    })),
  };
}
