import type { WireError } from "./scenario.ts";

/** How a finished answer ends. */
export type WireFinish = "stop" | "tool-calls" | "length";

/**
 * Writes one streamed answer as SSE text in one provider's wire format. Each method returns the
 * complete SSE events (`event:`/`data:` lines and the blank line) to send for that step.
 */
export interface StreamEncoder {
  start(): string[];
  text(text: string): string[];
  toolStart(id: string, name: string): string[];
  toolArgs(piece: string): string[];
  error(error: WireError): string[];
  finish(reason: WireFinish, usage: { input: number; output: number; cached?: number }): string[];
}

/** One provider's HTTP surface, as the test server needs it. */
export interface WireFormat {
  readonly name: string;
  /** The path prefix a client's `baseURL` ends with (e.g. `/v1`). */
  readonly basePath: string;
  /** True for the request paths this format answers (e.g. `/v1/messages`). */
  matches(path: string): boolean;
  /** The JSON body of a non-200 answer. */
  errorBody(status: number, error: WireError | undefined): unknown;
  createEncoder(model: string): StreamEncoder;
}

/** One SSE event; `event` is omitted for formats that only use `data:` lines. */
export function sse(data: unknown, event?: string): string {
  const payload = typeof data === "string" ? data : JSON.stringify(data);
  return `${event ? `event: ${event}\n` : ""}data: ${payload}\n\n`;
}
