/** One server-sent event: its `event:` name (undefined for the default `message`) and its data. */
export interface SseEvent {
  event: string | undefined;
  data: string;
}

/**
 * An incremental `text/event-stream` parser (the WHATWG rules the SDK's eventsource-parser follows):
 * lines end at CRLF, LF or CR; `data:` lines join with LF; a blank line dispatches; comments and
 * `id:`/`retry:` are dropped; an event with no data is not dispatched, nor is one cut off by the end
 * of the stream. Feeding bytes as they arrive is O(bytes): the buffer holds at most one partial line.
 */
export class SseParser {
  readonly #decoder = new TextDecoder();
  #buffer = "";
  #data: string[] = [];
  #event: string | undefined;
  /** A CR ended the last chunk: an LF at the start of the next one belongs to it. */
  #afterCr = false;

  /** Parses `bytes`; returns the events they completed, in order. */
  push(bytes: Uint8Array): SseEvent[] {
    const out: SseEvent[] = [];
    let text = this.#decoder.decode(bytes, { stream: true });
    if (this.#afterCr && text.startsWith("\n")) text = text.slice(1);
    this.#afterCr = false;
    this.#buffer = this.#buffer === "" ? text : this.#buffer + text;
    this.#lines(out);
    return out;
  }

  /** The stream ended: the last line, if unterminated, is dropped with its event (as browsers do). */
  end(): SseEvent[] {
    this.#decoder.decode();
    this.#buffer = "";
    this.#data = [];
    this.#event = undefined;
    return [];
  }

  #lines(out: SseEvent[]): void {
    const buffer = this.#buffer;
    let start = 0;
    for (;;) {
      const lf = buffer.indexOf("\n", start);
      const cr = buffer.indexOf("\r", start);
      if (lf < 0 && cr < 0) break;
      let end: number;
      let next: number;
      if (cr >= 0 && (lf < 0 || cr < lf)) {
        end = cr;
        if (cr + 1 === buffer.length) {
          // A CR at the very end: its LF may be in the next chunk.
          this.#afterCr = true;
          next = cr + 1;
        } else next = buffer.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
      } else {
        end = lf;
        next = lf + 1;
      }
      this.#line(buffer.slice(start, end), out);
      start = next;
    }
    this.#buffer = start === 0 ? buffer : buffer.slice(start);
  }

  #line(line: string, out: SseEvent[]): void {
    if (line === "") {
      if (this.#data.length > 0) {
        out.push({
          event: this.#event,
          data: this.#data.length === 1 ? (this.#data[0] as string) : this.#data.join("\n"),
        });
      }
      this.#data = [];
      this.#event = undefined;
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ":" starts a comment
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value === "" ? undefined : value;
  }
}
