/**
 * SSE drill (issue 10): many connect/disconnect cycles on `GET /conversations/:id/events`, then
 * checks that nothing was left behind. Target: no listener and no SSE client left.
 *
 *   bun packages/host-bin/bench/sse-cycles.ts [--cycles 10000] [--parallel 50] [--warmup 500] [--live]
 *
 * One cycle: connect, read the first chunk, abort. Half the conversations have a finished turn, so
 * their streams also start replaying stored events when the client goes away; with `--live`, turns keep
 * running on those conversations during the cycles, so streams also close while live events flow
 * (the heap then also holds those turns' work, so compare its figures only between runs without it).
 * Counted before and
 * after: the orchestrator's subscriptions and live listeners, the bus's `conversation.event` and
 * `turn.finished` handlers, transport-http's open SSE clients as `/health` and `/metrics` show them;
 * also heap after GC and RSS. "Before" is taken after a warm-up (JIT, caches, connection pools) so
 * that the heap figures compare like with like.
 *
 * Exit status: 0 ok, 1 something was left behind or a cycle failed.
 */
import { parseArgs } from "node:util";
import { TurnOrchestrator } from "@dispatch/session-orchestrator";
import { createConversation, type DrillStack, startDrillStack } from "./harness/drill-stack.ts";
import { mib, type SettledMemory, settledMemory, typeCountGrowth } from "./harness/settled-memory.ts";

const { values: args } = parseArgs({
  options: {
    cycles: { type: "string", default: "10000" },
    parallel: { type: "string", default: "50" },
    warmup: { type: "string", default: "500" },
    conversations: { type: "string", default: "10" },
    /** Keep turns running on the seeded conversations while cycling, so streams close mid-delivery. */
    live: { type: "boolean", default: false },
  },
});
const cycles = Number(args.cycles);
const parallel = Number(args.parallel);
const warmup = Number(args.warmup);
const conversationCount = Math.max(2, Number(args.conversations));

/** Every count that must come back to where it was. */
interface Counts {
  subscriptions: number;
  liveListeners: number;
  busConversationEvent: number;
  busTurnFinished: number;
  healthSseClients: number;
  metricSseClients: number;
  healthSubscriptions: number;
}

async function counts(stack: DrillStack): Promise<Counts> {
  const { orchestrator, host } = stack;
  const stats = orchestrator instanceof TurnOrchestrator ? orchestrator.stats : undefined;
  const health = (await (await fetch(`${stack.url}/health`)).json()) as {
    extensions: Array<{ id: string; health?: Record<string, unknown> }>;
  };
  const healthOf = (id: string) => health.extensions.find((e) => e.id === id)?.health ?? {};
  const metrics = await (await fetch(`${stack.url}/metrics`)).text();
  const metric = /^dispatch_sse_clients (\d+)$/m.exec(metrics)?.[1];
  return {
    subscriptions: stats?.subscriptions ?? -1,
    liveListeners: stats?.liveListeners ?? -1,
    busConversationEvent: host.bus.listenerCount("conversation.event"),
    busTurnFinished: host.bus.listenerCount("turn.finished"),
    healthSseClients: Number(healthOf("transport-http").sseClients ?? -1),
    metricSseClients: metric === undefined ? -1 : Number(metric),
    healthSubscriptions: Number(healthOf("session-orchestrator").subscriptions ?? -1),
  };
}

/** Runs turns back to back on each conversation until `stop` fires; returns how many finished. */
async function liveTurns(stack: DrillStack, ids: readonly string[], stop: AbortSignal): Promise<number> {
  let count = 0;
  await Promise.all(
    ids.map(async (id) => {
      while (!stop.aborted) {
        await seedTurns(stack, [id]);
        count += 1;
      }
    }),
  );
  return count;
}

/** Runs one turn on each conversation and waits (bounded) for them all to finish. */
async function seedTurns(stack: DrillStack, ids: readonly string[]): Promise<void> {
  // Subscribed before the first POST, so no finish can be missed.
  const finished = new Set<string>();
  const unsubscribe = stack.host.bus.subscribe("sse-cycles-drill", "turn.finished", ({ turnId }) => {
    finished.add(turnId);
  });
  try {
    const started: string[] = [];
    for (const id of ids) {
      const res = await fetch(`${stack.url}/conversations/${id}/messages`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text: "seed the event log" }),
      });
      if (res.status !== 202) throw new Error(`seeding ${id}: ${res.status}`);
      started.push(((await res.json()) as { turnId: string }).turnId);
    }
    const deadline = Date.now() + 10_000;
    while (!started.every((turnId) => finished.has(turnId))) {
      if (Date.now() > deadline) throw new Error("the seed turns did not finish within 10 s");
      await Bun.sleep(10);
    }
  } finally {
    unsubscribe();
  }
}

let failures = 0;
/** Connect, read the first chunk, abort. */
async function cycle(url: string, conversationId: string): Promise<void> {
  const abort = new AbortController();
  try {
    const res = await fetch(`${url}/conversations/${conversationId}/events`, { signal: abort.signal });
    if (res.status !== 200 || !res.body) {
      failures += 1;
      return;
    }
    const reader = res.body.getReader();
    const first = await reader.read();
    const text = first.value === undefined ? "" : new TextDecoder().decode(first.value);
    if (!text.startsWith(": connected")) failures += 1;
    abort.abort();
    await reader.cancel().catch(() => undefined);
  } catch (error) {
    if (!abort.signal.aborted) {
      failures += 1;
      if (failures <= 3) console.error("cycle failed:", error);
    }
  }
}

/** `total` cycles, `parallel` at a time, round-robin over the conversations. */
async function runCycles(url: string, ids: readonly string[], total: number): Promise<number> {
  const began = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next;
      next += 1;
      await cycle(url, ids[i % ids.length] as string);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, total) }, worker));
  return (total * 1000) / (performance.now() - began);
}

/** Waits (bounded) until the server has noticed every disconnect. */
async function settledCounts(stack: DrillStack, baseline: Counts, timeoutMs = 5000): Promise<Counts> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await counts(stack);
    const back = (Object.keys(baseline) as Array<keyof Counts>).every((k) => now[k] <= baseline[k]);
    if (back || Date.now() > deadline) return now;
    await Bun.sleep(25);
  }
}

function describe(label: string, c: Counts, m: SettledMemory): void {
  console.log(
    `${label.padEnd(16)} subscriptions ${c.subscriptions}  live listeners ${c.liveListeners}  ` +
      `bus conversation.event ${c.busConversationEvent}  bus turn.finished ${c.busTurnFinished}  ` +
      `sse clients (health ${c.healthSseClients}, metric ${c.metricSseClients})  ` +
      `heapUsed ${mib(m.heapUsed)} MiB  objects ${m.objectCount}  rss ${mib(m.rss)} MiB`,
  );
}

const stack = await startDrillStack({ maxConcurrent: 4 });
let exitCode = 0;
try {
  const ids: string[] = [];
  for (let i = 0; i < conversationCount; i += 1) ids.push(await createConversation(stack.url, `sse ${i}`));
  await seedTurns(stack, ids.slice(0, Math.ceil(ids.length / 2)));

  const fresh = await counts(stack);
  const freshMemory = await settledMemory();
  describe("fresh", fresh, freshMemory);
  await runCycles(stack.url, ids, warmup);
  const before = await settledCounts(stack, fresh);
  const beforeMemory = await settledMemory();
  describe(`after ${warmup} warm-up`, before, beforeMemory);

  // Sample the open subscriptions while cycling, to show the streams really were open at once.
  let peak = 0;
  const sampler = setInterval(() => {
    const stats = stack.orchestrator instanceof TurnOrchestrator ? stack.orchestrator.stats : undefined;
    peak = Math.max(peak, stats?.subscriptions ?? 0);
  }, 5);
  const stopLive = new AbortController();
  const live = args.live
    ? liveTurns(stack, ids.slice(0, Math.ceil(ids.length / 2)), stopLive.signal)
    : Promise.resolve(0);
  let rate: number;
  try {
    rate = await runCycles(stack.url, ids, cycles);
  } finally {
    clearInterval(sampler);
    stopLive.abort();
  }
  const liveCount = await live;
  const after = await settledCounts(stack, before);
  const afterMemory = await settledMemory();
  describe(`after ${cycles}`, after, afterMemory);

  const leftBehind = (Object.keys(before) as Array<keyof Counts>).filter((k) => after[k] > before[k]);
  const heapGrowth = afterMemory.heapUsed / beforeMemory.heapUsed - 1;
  console.log("\nobject types that changed most across the cycles:");
  console.table(typeCountGrowth(beforeMemory.objectTypeCounts, afterMemory.objectTypeCounts));
  console.log(
    `${cycles} cycles at ${rate.toFixed(0)} cycles/s, ${parallel} at a time; peak open subscriptions ${peak}; failed cycles ${failures}` +
      (args.live ? `; ${liveCount} turns ran meanwhile` : ""),
  );
  console.log(
    `heap after GC ${mib(beforeMemory.heapUsed)} -> ${mib(afterMemory.heapUsed)} MiB (ratio ${(1 + heapGrowth).toFixed(4)}); ` +
      `rss ${mib(beforeMemory.rss)} -> ${mib(afterMemory.rss)} MiB`,
  );
  console.log(
    leftBehind.length === 0
      ? "target met: nothing left behind"
      : `target MISSED: left behind: ${leftBehind.join(", ")}`,
  );
  if (stack.warnings.size > 0)
    console.log("warnings logged:", JSON.stringify(Object.fromEntries(stack.warnings)));
  console.log(
    `DRILL_RESULT ${JSON.stringify({
      drill: "sse-cycles",
      cycles,
      parallel,
      failures,
      peakSubscriptions: peak,
      liveTurns: liveCount,
      before,
      after,
      leftBehind,
      heapUsedBefore: beforeMemory.heapUsed,
      heapUsedAfter: afterMemory.heapUsed,
      rssBefore: beforeMemory.rss,
      rssAfter: afterMemory.rss,
    })}`,
  );
  if (leftBehind.length > 0 || failures > 0) exitCode = 1;
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await stack.stop();
}
process.exit(exitCode);
