import { expect, test } from "bun:test";
import { sseMessages } from "./testing.ts";

/** A body that hands over `text` as bytes cut at the given offsets. */
function body(text: string, cuts: number[]): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  const edges = [0, ...cuts, bytes.length];
  return new ReadableStream({
    start(controller) {
      for (let i = 1; i < edges.length; i++) controller.enqueue(bytes.slice(edges[i - 1], edges[i]));
      controller.close();
    },
  });
}

test("sseMessages joins blocks cut anywhere, even inside a UTF-8 character, and skips comments", async () => {
  const text = ': connected\n\nid: 1\ndata: {"t":"héllo"}\n\n: heartbeat\n\nid: 2\ndata: {"t":"🙂"}\n\n';
  const bytes = new TextEncoder().encode(text).length;
  for (let cut = 1; cut < bytes; cut++) {
    const seen = [];
    for await (const message of sseMessages(body(text, [cut]))) seen.push(message);
    expect(seen).toEqual([
      { id: 1, data: '{"t":"héllo"}' },
      { id: 2, data: '{"t":"🙂"}' },
    ]);
  }
});

test("stopping early cancels the body", async () => {
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new TextEncoder().encode("id: 1\ndata: {}\n\n"));
    },
    cancel() {
      cancelled = true;
    },
  });
  for await (const message of sseMessages(stream)) {
    expect(message.id).toBe(1);
    break;
  }
  expect(cancelled).toBe(true);
});
