/** One event of `GET /conversations/:id/events`: `id` is the seq (absent on none), `data` one JSON line. */
export interface SseMessage {
  id: number | undefined;
  data: string;
}

/**
 * The events of an SSE body in order, for tests and drills that read the API's streams; comments
 * (`: connected`, heartbeats, `: closed ...`) are skipped. Stopping the loop early cancels the body.
 */
export async function* sseMessages(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (data === undefined) continue;
      const id = /^id: (\d+)$/m.exec(block)?.[1];
      yield { id: id === undefined ? undefined : Number(id), data };
    }
  }
}
