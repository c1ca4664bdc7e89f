/**
 * The subscriber side of http.ts's fan-out figure, in its own process so that parsing 1,000 streams
 * does not run on the server's thread:
 *
 *   bun packages/transport-http/bench/harness/sse-subscribers.ts <events url> <count>
 *
 * Opens `count` SSE streams, prints `ready` once every one is open, then prints one JSON array: for each
 * stream, the time (`performance.timeOrigin + performance.now()`, epoch ms) its first event arrived.
 * Gives up after 30 s.
 */
import { sseMessages } from "../../src/testing.ts";

const [url, countText] = process.argv.slice(2);
if (url === undefined || countText === undefined) throw new Error("usage: sse-subscribers.ts <url> <count>");
const count = Number(countText);
const controller = new AbortController();
const arrivals: number[] = [];
let open = 0;

const streams = Array.from({ length: count }, async () => {
  const res = await fetch(url, { signal: controller.signal });
  open++;
  if (open === count) process.stdout.write("ready\n");
  for await (const { id } of sseMessages(res.body as ReadableStream<Uint8Array>)) {
    if (id === undefined) continue;
    arrivals.push(performance.timeOrigin + performance.now());
    break;
  }
});
const timer = setTimeout(() => controller.abort(), 30_000);
await Promise.allSettled(streams);
clearTimeout(timer);
controller.abort();
process.stdout.write(`${JSON.stringify(arrivals)}\n`);
