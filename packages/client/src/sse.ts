/** One server-sent message, or a comment line (`: heartbeat`, `: closed slow_consumer`). */
export type SseItem =
  | { kind: "message"; id: string | undefined; data: string }
  | { kind: "comment"; text: string };

/**
 * Parses a `text/event-stream` body into messages and comments, as the WHATWG EventSource does
 * (lines end with CR, LF or CRLF; `data:` lines join with "\n"; a blank line ends a message).
 * Comments are yielded too, so a caller can tell a heartbeat from a silent connection.
 */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseItem> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let data: string[] = [];
  let id: string | undefined;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (;;) {
        const end = buffer.search(/\r\n|\r|\n/);
        // a lone CR at the end may be the first half of CRLF: wait for more
        if (end < 0 || (end === buffer.length - 1 && buffer[end] === "\r" && !done)) break;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(buffer.startsWith("\r\n", end) ? end + 2 : end + 1);
        if (line === "") {
          if (data.length > 0) yield { kind: "message", id, data: data.join("\n") };
          data = [];
          id = undefined;
        } else if (line.startsWith(":")) {
          yield { kind: "comment", text: line.slice(1).trimStart() };
        } else {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? "" : line.slice(colon + (line[colon + 1] === " " ? 2 : 1));
          if (field === "data") data.push(value);
          else if (field === "id") id = value;
        }
      }
      if (done) return;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
