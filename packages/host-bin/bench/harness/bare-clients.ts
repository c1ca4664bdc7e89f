/**
 * The floor of the hot-path benchmark, in its own process: bare streaming clients (Bun's fetch, the
 * SSE split by hand, every `data:` line JSON-parsed) against the benchmark's model server, the same
 * streams Dispatch reads. Prints one JSON line: wall time, per-request latencies, its own CPU time
 * over the measured phase and, for stamped streams, each chunk's delivery latency.
 *
 *   bun bare-clients.ts <baseURL> <openai|anthropic> <model> <clients> <requestsEach>
 */
import { chunkText } from "./chunk-text.ts";
import { cpuMark, cpuSince } from "./proc-cpu.ts";

const [baseURL, wire, model, clientsArg, requestsArg] = process.argv.slice(2);
if (baseURL === undefined || (wire !== "openai" && wire !== "anthropic") || model === undefined) {
  console.error("usage: bare-clients.ts <baseURL> <openai|anthropic> <model> <clients> <requestsEach>");
  process.exit(2);
}
const clients = Number(clientsArg);
const requestsEach = Number(requestsArg);
const stamped = model.endsWith("-stamp");
const stampPattern = /<t=(\d+\.\d+)>/g;

const url = wire === "openai" ? `${baseURL}/chat/completions` : `${baseURL}/messages`;
const body = JSON.stringify({
  model,
  stream: true,
  max_tokens: 1024,
  messages: [{ role: "user", content: "go" }],
});
const headers: Record<string, string> =
  wire === "openai"
    ? { "content-type": "application/json" }
    : { "content-type": "application/json", "x-api-key": "bench", "anthropic-version": "2023-06-01" };

function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

const latencies: number[] = [];
let chunks = 0;

/** One streamed request, read to its end. */
async function request(): Promise<void> {
  const response = await fetch(url, { method: "POST", headers, body });
  if (response.status !== 200 || response.body === null) throw new Error(`answered ${response.status}`);
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const piece of response.body) {
    buffer += decoder.decode(piece, { stream: true });
    let cut = buffer.indexOf("\n\n");
    while (cut >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      cut = buffer.indexOf("\n\n");
      const at = block.indexOf("data: ");
      if (at < 0) continue;
      const text = chunkText(block.slice(at + 6));
      if (text === "") continue;
      chunks += 1;
      if (!stamped) continue;
      const now = wallNow();
      for (const match of text.matchAll(stampPattern)) latencies.push(now - Number(match[1]));
    }
  }
}

// One request first, so the measured phase does not include the first connection and JIT warm-up.
await request();
latencies.length = 0;
chunks = 0;

const turnMs: number[] = [];
const cpuBefore = cpuMark(process.pid);
const began = performance.now();
await Promise.all(
  Array.from({ length: clients }, async () => {
    for (let i = 0; i < requestsEach; i += 1) {
      const t0 = performance.now();
      await request();
      turnMs.push(performance.now() - t0);
    }
  }),
);
const wallMs = performance.now() - began;
const cpuMs = cpuSince(cpuBefore);
console.log(JSON.stringify({ wallMs, cpuMs, turnMs, chunks, latencies }));
