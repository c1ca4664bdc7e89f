import type { LanguageModelV4StreamPart } from "@ai-sdk/provider";
import type { SseEvent } from "./sse-parser.ts";

/** What a decoder knows of the answer it decodes (for the errors it reports, as the SDK does). */
export interface DecodeContext {
  url: string;
  responseHeaders: Record<string, string>;
}

/**
 * Decodes one provider's successful event stream into the AI SDK's own stream parts, so that the
 * provider maps them exactly as it maps the SDK's (`mapPart` in sdk-provider.ts). Only the parts the
 * provider reads are produced: `text-delta`, `tool-call`, `finish` and `error`, with the fields the
 * SDK gives them. A decoder is made per call and keeps that call's state.
 */
export interface StreamDecoder {
  /** Decodes one event, appending the parts it completes to `out`. */
  event(event: SseEvent, out: LanguageModelV4StreamPart[]): void;
  /** The body ended: appends what the end completes (pending tool calls, the finish). */
  end(out: LanguageModelV4StreamPart[]): void;
}

/** Makes the decoder of one call. */
export type StreamDecoderFactory = (context: DecodeContext) => StreamDecoder;

/** A chunk that is not the JSON the provider's format promises (the SDK's schema check would refuse it). */
export class UnexpectedChunkError extends Error {
  readonly data: string;

  constructor(message: string, data: string) {
    super(message);
    this.name = "UnexpectedChunkError";
    this.data = data.length > 500 ? `${data.slice(0, 500)}…` : data;
  }
}

/** Parses an event's JSON data; an object, or an `UnexpectedChunkError`. */
export function parseChunk(data: string): Record<string, unknown> | UnexpectedChunkError {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (error) {
    return new UnexpectedChunkError(
      `the provider sent an event that is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      data,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return new UnexpectedChunkError("the provider sent an event that is not a JSON object", data);
  }
  return value as Record<string, unknown>;
}

/** `value` as a record, or undefined. */
export function recordOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** `value` when it is a number, else undefined (null and absent alike). */
export function numberOf(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}
