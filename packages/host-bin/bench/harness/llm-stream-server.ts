/**
 * A loopback model server for the hot-path benchmark, in its own process: it answers OpenAI
 * chat-completions (`POST /v1/chat/completions`) and Anthropic Messages (`POST /v1/messages`) with
 * streamed text in the real wire formats (the encoders of `@dispatch/providers/testing`).
 *
 *   bun packages/host-bin/bench/harness/llm-stream-server.ts
 *
 * The request's `model` names the answer: `c<chunks>-d<delayMs>` streams `chunks` text deltas, each
 * after a `delayMs` pause; a `-stamp` suffix makes each delta's text the wall-clock time it was sent
 * (`<t=…>`, epoch ms with µs), so a reader can tell each chunk's delivery latency. Prints
 * `{"port":…}` on stdout once it listens; stops on SIGTERM.
 */
import { anthropicWire, openaiWire, type WireFormat } from "@dispatch/providers/testing";

const encoder = new TextEncoder();
const modelPattern = /^c(\d+)-d(\d+)(-stamp)?$/;

/** Wall-clock epoch ms, comparable across processes on this machine. */
function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

function formatOf(path: string): WireFormat | undefined {
  if (openaiWire.matches(path)) return openaiWire;
  if (anthropicWire.matches(path)) return anthropicWire;
  return undefined;
}

function answer(format: WireFormat, model: string, signal: AbortSignal): Response {
  const match = modelPattern.exec(model);
  if (match === null) {
    return Response.json(format.errorBody(400, { type: "invalid_request_error", message: "bad model" }), {
      status: 400,
    });
  }
  const chunks = Number(match[1]);
  const delayMs = Number(match[2]);
  const stamped = match[3] !== undefined;
  const enc = format.createEncoder(model);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (events: string[]) => controller.enqueue(encoder.encode(events.join("")));
      send(enc.start());
      let sent = 0;
      const next = () => {
        timer = undefined;
        if (signal.aborted) return;
        sent += 1;
        send(enc.text(stamped ? `<t=${wallNow().toFixed(3)}>` : `word${sent} `));
        if (sent < chunks) timer = setTimeout(next, delayMs);
        else {
          send(enc.finish("stop", { input: 10, output: chunks }));
          controller.close();
        }
      };
      timer = setTimeout(next, delayMs);
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
    },
  });
  return new Response(stream, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 0,
  async fetch(req) {
    const format = formatOf(new URL(req.url).pathname);
    if (format === undefined) return new Response("not found", { status: 404 });
    const body = (await req.json()) as { model?: unknown };
    return answer(format, String(body.model ?? ""), req.signal);
  },
});

process.on("SIGTERM", () => {
  void server.stop(true).then(() => process.exit(0));
});
console.log(JSON.stringify({ port: server.port }));
