/**
 * The hot path (issue 25): CPU per turn and per streamed chunk of `bin/dispatch serve` under
 * concurrency, against bare streaming clients reading the same streams in the same run.
 *
 *   bun packages/host-bin/bench/hot-path.ts [--runs 3] [--widths 1,16,64,256] [--turns 10]
 *       [--streams 20,100,200] [--wires openai,anthropic] [--stream-wires openai]
 *       [--only turns,streams,memory] [--memory-turns 256] [--warmup 5] [--cpu-prof DIR] [--json FILE]
 *       [--disable EXT,…] [--floor]
 *
 * Four processes: a loopback model server speaking OpenAI chat-completions and Anthropic Messages SSE
 * (harness/llm-stream-server.ts), the host (`bin/dispatch serve`, all built-in extensions; with
 * `--cpu-prof DIR` it runs under `bun --cpu-prof` and writes its profile there at exit), the load
 * generator (harness/load-generator.ts: conversations, one SSE subscriber each, turns over HTTP; it
 * reads the host's CPU from /proc) and the baseline (harness/bare-clients.ts: the same number of bare
 * Bun fetch clients parsing the same SSE). Baseline and host alternate within each run.
 *
 * - turns: C conversations at once (`--widths`), K one-step turns each (`--turns`), 8 chunks 10 ms
 *   apart. Reports the wall-time ratio host/bare, turn p50/p99 (POST to the final event on the
 *   subscriber), host CPU ms per turn, the C = 1 overhead over the floor, host peak RSS.
 * - streams: N long streams at once (`--streams`), 200 chunks 20 ms apart, each stamped by the model
 *   server: host CPU per streamed chunk against the bare clients' own, and delivery latency to the
 *   subscriber (p50/p99, coalescing window included).
 * - memory: RSS of a fresh, warmed host idle, with `--memory-turns` turns in flight, and after.
 *
 * `--disable` starts the host with those extensions disabled (what one costs per turn); `--floor` runs
 * harness/floor-host.ts in the host's place: the same calls, stores and streams with none of
 * Dispatch's code, which tells how close to Bun and SQLite themselves the host is. Per statement, the
 * host's SQLite time is measured by the preload in harness/sqlite-timing.ts.
 *
 * The host first runs `--warmup` turns in each of 64 conversations per wire format (JIT tiers keep
 * compiling for hundreds of turns). Figures are medians over `--runs`; the 1-minute load average is
 * printed with each table.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { median, percentile } from "@dispatch/bench-kit";
import { BenchProcesses } from "./harness/bench-processes.ts";
import { loadAverage } from "./harness/proc-cpu.ts";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    widths: { type: "string", default: "1,16,64,256" },
    turns: { type: "string", default: "10" },
    streams: { type: "string", default: "20,100,200" },
    wires: { type: "string", default: "openai,anthropic" },
    "stream-wires": { type: "string", default: "openai" },
    only: { type: "string", default: "turns,streams,memory" },
    "memory-turns": { type: "string", default: "256" },
    warmup: { type: "string", default: "5" },
    "cpu-prof": { type: "string" },
    floor: { type: "boolean", default: false },
    disable: { type: "string", default: "" },
    json: { type: "string" },
  },
});
const runs = Number(args.runs);
const widths = args.widths.split(",").map(Number);
const turnsEach = Number(args.turns);
const streamCounts = args.streams.split(",").map(Number);
const wires = args.wires.split(",") as Array<"openai" | "anthropic">;
const streamWires = args["stream-wires"].split(",") as Array<"openai" | "anthropic">;
const only = new Set(args.only.split(","));
const memoryTurns = Number(args["memory-turns"]);
const warmupTurns = Number(args.warmup);

const processes = new BenchProcesses({
  floor: args.floor,
  ...(args["cpu-prof"] === undefined ? {} : { cpuProfDir: resolve(args["cpu-prof"]) }),
  disabled: args.disable.split(",").filter((id) => id !== ""),
});
const { runJson } = processes;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    processes.cleanup();
    process.exit(130);
  });
}

interface BareResult {
  wallMs: number;
  cpuMs: number;
  turnMs: number[];
  chunks: number;
  latencies: number[];
}
interface HostResult {
  wallMs: number;
  hostCpuMs: number;
  /** CPU ms per host thread name over the measured phase. */
  hostThreadsMs: Record<string, number>;
  turnMs: number[];
  chunks: number;
  latencies: number[];
  peakRss: number;
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));
const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);
/** The median of one figure over a scenario's runs, rounded to `digits`. */
const medianOf = <R>(runs: readonly R[], pick: (run: R) => number, digits = 2) =>
  round(median(runs.map(pick)), digits);
/** µs of CPU per unit (a turn, a chunk) for each host thread name. */
const perThread = (threadsMs: Record<string, number>, units: number) =>
  Object.fromEntries(Object.entries(threadsMs).map(([name, ms]) => [name, round((ms * 1000) / units, 1)]));
const report: Record<string, unknown> = { startedAt: new Date().toISOString(), runs };

const modelServer = await processes.startModelServer();
let exitCode = 0;
try {
  if (only.has("turns") || only.has("streams")) {
    const host = await processes.startHost(modelServer.baseURL, "host");
    const model = "c8-d10";
    // Warm-up: JIT (still compiling after a few hundred turns at C = 1), prepared statements,
    // connection pools, for both wire formats.
    for (const wire of new Set([...wires, ...streamWires])) {
      await runJson<HostResult>("load-generator.ts", [
        "turns",
        host.url,
        host.pid,
        wire,
        model,
        64,
        warmupTurns,
      ]);
      await runJson<BareResult>("bare-clients.ts", [modelServer.baseURL, wire, model, 64, warmupTurns]);
    }
    if (only.has("turns")) {
      const rows: Record<string, unknown>[] = [];
      const load: number[] = [];
      /** Host CPU µs per turn by thread, each run (for where the time outside JavaScript goes). */
      const threadsPerTurn: Record<string, number>[] = [];
      for (const wire of wires) {
        for (const width of widths) {
          const perRun: Array<{
            ratio: number;
            cpuPerTurn: number;
            p50: number;
            p99: number;
            bareP50: number;
            bareP99: number;
            bareCpuPerTurn: number;
            jsPerTurn: number;
            rss: number;
          }> = [];
          for (let run = 0; run < runs; run += 1) {
            load.push(loadAverage());
            const bare = await runJson<BareResult>("bare-clients.ts", [
              modelServer.baseURL,
              wire,
              model,
              width,
              turnsEach,
            ]);
            const hosted = await runJson<HostResult>("load-generator.ts", [
              "turns",
              host.url,
              host.pid,
              wire,
              model,
              width,
              turnsEach,
            ]);
            const turns = width * turnsEach;
            threadsPerTurn.push(perThread(hosted.hostThreadsMs, turns));
            perRun.push({
              ratio: hosted.wallMs / bare.wallMs,
              cpuPerTurn: hosted.hostCpuMs / turns,
              p50: percentile(hosted.turnMs, 50),
              p99: percentile(hosted.turnMs, 99),
              bareP50: percentile(bare.turnMs, 50),
              bareP99: percentile(bare.turnMs, 99),
              bareCpuPerTurn: bare.cpuMs / turns,
              jsPerTurn: (hosted.hostThreadsMs.main ?? 0) / turns,
              rss: hosted.peakRss,
            });
          }
          const m = (pick: (r: (typeof perRun)[number]) => number, digits?: number) =>
            medianOf(perRun, pick, digits);
          rows.push({
            wire,
            C: width,
            K: turnsEach,
            "wall ratio": m((r) => r.ratio),
            "ratio range": `${round(Math.min(...perRun.map((r) => r.ratio)))}–${round(Math.max(...perRun.map((r) => r.ratio)))}`,
            "host CPU ms/turn": m((r) => r.cpuPerTurn, 3),
            "JS thread ms/turn": m((r) => r.jsPerTurn, 3),
            "bare CPU ms/turn": m((r) => r.bareCpuPerTurn, 3),
            "p50 ms": m((r) => r.p50, 1),
            "p99 ms": m((r) => r.p99, 1),
            "bare p50": m((r) => r.bareP50, 1),
            "bare p99": m((r) => r.bareP99, 1),
            "p50 over floor": m((r) => r.p50 - r.bareP50, 2),
            "host RSS MB": mb(m((r) => r.rss)),
          });
        }
      }
      console.log(
        `\nturns: C conversations × K one-step turns (8 chunks, 10 ms apart); load avg ${round(median(load), 1)} (${round(Math.min(...load), 1)}–${round(Math.max(...load), 1)})`,
      );
      console.table(rows);
      console.log("host CPU µs per turn by thread, each run:");
      for (const threads of threadsPerTurn) console.log(`  ${JSON.stringify(threads)}`);
      report.turns = { rows, load, threadsPerTurn };
    }
    if (only.has("streams")) {
      const rows: Record<string, unknown>[] = [];
      const load: number[] = [];
      const streamModel = "c200-d20-stamp";
      /** Host CPU µs per chunk by thread, each run (for where the time outside JavaScript goes). */
      const threadsPerChunk: Record<string, number>[] = [];
      for (const wire of streamWires) {
        for (const count of streamCounts) {
          const perRun: Array<{
            hostPerChunk: number;
            jsPerChunk: number;
            barePerChunk: number;
            p50: number;
            p99: number;
            bareP99: number;
            delivered: number;
          }> = [];
          for (let run = 0; run < runs; run += 1) {
            load.push(loadAverage());
            const bare = await runJson<BareResult>("bare-clients.ts", [
              modelServer.baseURL,
              wire,
              streamModel,
              count,
              1,
            ]);
            const hosted = await runJson<HostResult>("load-generator.ts", [
              "streams",
              host.url,
              host.pid,
              wire,
              streamModel,
              count,
            ]);
            const chunks = count * 200;
            threadsPerChunk.push(perThread(hosted.hostThreadsMs, chunks));
            perRun.push({
              hostPerChunk: (hosted.hostCpuMs * 1000) / chunks,
              jsPerChunk: ((hosted.hostThreadsMs.main ?? 0) * 1000) / chunks,
              barePerChunk: (bare.cpuMs * 1000) / chunks,
              p50: percentile(hosted.latencies, 50),
              p99: percentile(hosted.latencies, 99),
              bareP99: percentile(bare.latencies, 99),
              delivered: hosted.chunks / chunks,
            });
          }
          const m = (pick: (r: (typeof perRun)[number]) => number, digits?: number) =>
            medianOf(perRun, pick, digits);
          rows.push({
            wire,
            streams: count,
            "host µs/chunk": m((r) => r.hostPerChunk, 1),
            "JS thread µs/chunk": m((r) => r.jsPerChunk, 1),
            "bare µs/chunk": m((r) => r.barePerChunk, 1),
            ratio: m((r) => r.hostPerChunk / r.barePerChunk),
            "ratio range": `${round(Math.min(...perRun.map((r) => r.hostPerChunk / r.barePerChunk)))}–${round(Math.max(...perRun.map((r) => r.hostPerChunk / r.barePerChunk)))}`,
            "delivery p50 ms": m((r) => r.p50, 1),
            "delivery p99 ms": m((r) => r.p99, 1),
            "bare p99 ms": m((r) => r.bareP99, 1),
            delivered: m((r) => r.delivered, 3),
          });
        }
      }
      console.log(
        `\nstreams: N long streams at once (200 chunks, 20 ms apart), an SSE subscriber each; load avg ${round(median(load), 1)} (${round(Math.min(...load), 1)}–${round(Math.max(...load), 1)})`,
      );
      console.table(rows);
      console.log("host CPU µs per chunk by thread, each run:");
      for (const threads of threadsPerChunk) console.log(`  ${JSON.stringify(threads)}`);
      report.streams = { rows, load, threadsPerChunk };
    }
    const code = await host.stop();
    if (code !== 0) {
      console.error(`host exited with ${code} at SIGTERM`);
      exitCode = 1;
    }
  }
  if (only.has("memory")) {
    const rows: Record<string, unknown>[] = [];
    const load: number[] = [];
    for (let run = 0; run < runs; run += 1) {
      load.push(loadAverage());
      const host = await processes.startHost(modelServer.baseURL, `memory-${run}`);
      await runJson<HostResult>("load-generator.ts", [
        "turns",
        host.url,
        host.pid,
        "openai",
        "c8-d10",
        16,
        3,
      ]);
      const memory = await runJson<{
        idleRss: number;
        withSubscribersRss: number;
        inFlightRss: number;
        peakRss: number;
        afterRss: number;
        laterRss: number;
        allInFlight: boolean;
        secondPeakRss: number;
        secondAfterRss: number;
      }>("load-generator.ts", ["memory", host.url, host.pid, "openai", "c200-d20", memoryTurns]);
      await host.stop();
      rows.push({
        run: run + 1,
        "idle MB": mb(memory.idleRss),
        "subscribers open MB": mb(memory.withSubscribersRss),
        "in flight MB": mb(memory.inFlightRss),
        "peak MB": mb(memory.peakRss),
        "peak − idle MB": mb(memory.peakRss - memory.idleRss),
        "after 3 s MB": mb(memory.afterRss),
        "after 6 s MB": mb(memory.laterRss),
        "after / idle": round(memory.laterRss / memory.idleRss, 3),
        "2nd burst peak MB": mb(memory.secondPeakRss),
        "after 2nd / idle": round(memory.secondAfterRss / memory.idleRss, 3),
        // what a burst leaves once the host has served one (the allocator's and JIT's first growth)
        "after 2nd / after 1st": round(memory.secondAfterRss / memory.laterRss, 3),
        "all in flight": memory.allInFlight,
      });
    }
    console.log(
      `\nmemory: ${memoryTurns} turns in flight (200 chunks, 20 ms apart), fresh warmed host; load avg ${round(median(load), 1)}`,
    );
    console.table(rows);
    report.memory = { rows, load };
  }
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await modelServer.stop();
  if (args.json !== undefined) writeFileSync(args.json, JSON.stringify(report, null, 2));
  processes.cleanup();
}
process.exit(exitCode);
