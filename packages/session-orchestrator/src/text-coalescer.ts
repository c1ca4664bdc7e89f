import type { NewEvent } from "@dispatch/conversation-store";
import type { Flushable, FlushTicker } from "./flush-ticker.ts";

/** Longest text one `text.delta` event carries, in UTF-16 units (at most 96 KiB of UTF-8, well under the event cap). */
export const maxEventTextUnits = 32 * 1024;

/**
 * Buffers a turn's text deltas so the log gets one event per `coalesceBytes` or per flush tick, not
 * one per token. Invariant: text leaves in the order it arrived, through `take()` or `flush()` only.
 */
export class TextCoalescer implements Flushable {
  readonly #ticker: FlushTicker;
  readonly #maxBytes: number;
  readonly #sink: (text: string) => void;
  #chunks: string[] = [];
  #bytes = 0;

  constructor(ticker: FlushTicker, maxBytes: number, sink: (text: string) => void) {
    if (!Number.isInteger(maxBytes) || maxBytes < 1) {
      throw new TypeError(`Expected \`maxBytes\` to be an integer >= 1, got \`${maxBytes}\``);
    }
    this.#ticker = ticker;
    this.#maxBytes = maxBytes;
    this.#sink = sink;
  }

  /** Buffers a delta; writes out at once when the buffer reaches `maxBytes`. */
  push(text: string): void {
    if (text === "") return;
    this.#chunks.push(text);
    this.#bytes += Buffer.byteLength(text, "utf8");
    if (this.#bytes >= this.#maxBytes) this.flush();
    else this.#ticker.mark(this);
  }

  /** Empties the buffer and returns its text, or undefined when there was none. */
  take(): string | undefined {
    if (this.#chunks.length === 0) return undefined;
    const text = this.#chunks.length === 1 ? (this.#chunks[0] as string) : this.#chunks.join("");
    this.#chunks = [];
    this.#bytes = 0;
    this.#ticker.unmark(this);
    return text;
  }

  /** Hands the buffered text to the sink now. */
  flush(): void {
    const text = this.take();
    if (text !== undefined) this.#sink(text);
  }

  /** Bytes waiting to be written. */
  get pendingBytes(): number {
    return this.#bytes;
  }
}

/** Splits text into pieces of at most `maxUnits` UTF-16 units without cutting a surrogate pair. */
export function splitText(text: string, maxUnits = maxEventTextUnits): string[] {
  if (text.length <= maxUnits) return [text];
  const pieces: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + maxUnits, text.length);
    const last = text.charCodeAt(end - 1);
    // A high surrogate at the cut would separate a pair; move the cut one unit back.
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces;
}

/** `text.delta` events for a piece of a turn's text, each small enough for the event log. */
export function textDeltaEvents(turnId: string, text: string): NewEvent[] {
  return splitText(text).map((piece) => ({ type: "text.delta", turnId, data: { text: piece } }));
}
