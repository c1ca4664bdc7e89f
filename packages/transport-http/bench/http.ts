/**
 * HTTP throughput and SSE fan-out latency.
 *
 *   bun packages/transport-http/bench/http.ts [--runs 3] [--seconds 5]
 *
 * Throughput: `wrk -t1 -c32` (Debian's `wrk`) against `GET /workspaces` and `PUT /workspaces/:id/star` of
 * the real API, and against a bare Hono route on Bun.serve in the same run (the baseline); reports the
 * median requests/s of several runs and the ratio API/bare. Also PUT and DELETE of the star in turn,
 * where every request commits (a repeated PUT finds the star set and writes nothing).
 * Fan-out: 1,000 SSE subscribers on one conversation (in a separate process), one turn started; the
 * time from the POST to each subscriber's receipt of the first event (p50, p99).
 */

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { median, percentile } from "@dispatch/bench-kit";
import { createLogger } from "@dispatch/kernel";
import { Hono } from "hono";
import { startApi } from "../test/harness.ts";

const { values } = parseArgs({ options: { runs: { type: "string" }, seconds: { type: "string" } } });
const runs = Number(values.runs ?? 3);
const seconds = Number(values.seconds ?? 5);

if (!Bun.which("wrk")) {
  console.error("wrk is missing: apt-get install -y wrk");
  process.exit(1);
}

/** The lines a child process prints, one at a time. */
async function* subscriberLines(stdout: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stdout) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let cut = buffer.indexOf("\n"); cut >= 0; cut = buffer.indexOf("\n")) {
      yield buffer.slice(0, cut);
      buffer = buffer.slice(cut + 1);
    }
  }
}

/** Lua for wrk: every request uses `method`, or PUT and DELETE in turn for "toggle". */
function wrkScript(method: string): string {
  if (method !== "toggle") return `wrk.method = "${method}"\n`;
  return [
    "local n = 0",
    "request = function()",
    "  n = n + 1",
    '  return wrk.format(n % 2 == 0 and "DELETE" or "PUT", wrk.path)',
    "end",
  ].join("\n");
}

async function wrk(url: string, method = "GET"): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "dispatch-wrk-"));
  const script = join(dir, "method.lua");
  writeFileSync(script, wrkScript(method));
  const proc = Bun.spawn(["wrk", "-t1", "-c32", `-d${seconds}s`, "-s", script, url], { stdout: "pipe" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1];
  if (!rps) throw new Error(`could not read wrk output:\n${out}`);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  if (non2xx) throw new Error(`${method} ${url}: ${non2xx} non-2xx responses`);
  return Number(rps);
}

const bare = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: new Hono().get("/", (c) => c.json({ ok: true })).fetch,
});
// Logged as `serve` logs: JSON lines on stderr at info level.
const api = await startApi({ server: { port: 0 } }, [], createLogger({ level: "info" }));
try {
  await api.client.workspaces.$post({ json: { id: "bench", name: "Bench" } });
  const figures: Record<string, number[]> = { bare: [], list: [], star: [], toggle: [] };
  for (let i = 0; i < runs; i++) {
    figures.bare?.push(await wrk(`http://127.0.0.1:${bare.port}/`));
    figures.list?.push(await wrk(`${api.url}/workspaces`));
    figures.star?.push(await wrk(`${api.url}/workspaces/bench/star`, "PUT"));
    figures.toggle?.push(await wrk(`${api.url}/workspaces/bench/star`, "toggle"));
  }
  const b = median(figures.bare ?? []);
  const l = median(figures.list ?? []);
  const s = median(figures.star ?? []);
  console.log(`wrk -t1 -c32 -d${seconds}s, median of ${runs} runs`);
  console.log(`bare Hono route        ${b.toFixed(0)} req/s`);
  console.log(`GET /workspaces        ${l.toFixed(0)} req/s  ratio ${(l / b).toFixed(2)}`);
  console.log(`PUT /workspaces/:id/star ${s.toFixed(0)} req/s  ratio ${(s / b).toFixed(2)}`);
  // Repeated PUTs find the star already set and write nothing; alternating commits on every request.
  const t = median(figures.toggle ?? []);
  console.log(
    `PUT/DELETE star in turn ${t.toFixed(0)} req/s  ratio ${(t / b).toFixed(2)} (each one commits)`,
  );

  const subscribers = 1000;
  const conv = await (
    await api.client.workspaces[":id"].conversations.$post({ param: { id: "bench" }, json: {} })
  ).json();
  // The subscribers run in their own process: parsing 1,000 streams on the server's thread would be
  // counted as delivery time.
  const subscriberProcess = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "harness", "sse-subscribers.ts"),
      `${api.url}/conversations/${conv.id}/events`,
      String(subscribers),
    ],
    {
      stdout: "pipe",
      stderr: "inherit",
      // Bun's fetch client queues requests past this (default 256) forever.
      env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: "4096" },
    },
  );
  const lines = subscriberLines(subscriberProcess.stdout);
  if ((await lines.next()).value !== "ready") throw new Error("the subscriber process did not get ready");
  const posted = performance.timeOrigin + performance.now();
  await api.client.conversations[":id"].messages.$post({ param: { id: conv.id }, json: { text: "fan out" } });
  const arrivals = JSON.parse(((await lines.next()).value as string | undefined) ?? "[]") as number[];
  await subscriberProcess.exited;
  const latencies = arrivals.map((at) => at - posted);
  console.log(
    `SSE fan-out to ${subscribers} subscribers (${latencies.length} received): p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
  );
} finally {
  await api.stop();
  bare.stop(true);
}
