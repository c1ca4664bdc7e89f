/**
 * Soak drill (issue 10): many turns through the real HTTP API of the whole stack, heap after GC at a
 * checkpoint and at the end. Target: heap after GC grows less than 5% from the 2,000th to the
 * 10,000th turn.
 *
 *   bun packages/host-bin/bench/soak.ts [--turns 10000] [--checkpoint 2000] [--every 2000]
 *       [--conversations 50] [--max-concurrent 4] [--max-growth 0.05] [--snapshots DIR]
 *       [--turn-timeout-ms 30000]
 *
 * Every built-in extension runs in this process (so `Bun.gc(true)` and `bun:jsc` see the server's
 * heap), with a zero-delay scripted provider. Each conversation has one client that keeps an SSE
 * stream open, posts a message (`POST /conversations/:id/messages`), waits for the turn's final
 * event on its stream, and posts the next; turns go round-robin over the conversations, so each ends
 * with `turns / conversations` turns of history. Readings are taken with no turn in flight.
 *
 * Exit status: 0 ok, 1 a turn did not complete or a listener was left, 3 heap growth over the target.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { TurnOrchestrator } from "@dispatch/session-orchestrator";
import { createConversation, startDrillStack } from "./harness/drill-stack.ts";
import {
  dirBytes,
  mib,
  type SettledMemory,
  settledMemory,
  typeCountGrowth,
} from "./harness/settled-memory.ts";
import { TurnWatcher } from "./harness/turn-watcher.ts";

const { values: args } = parseArgs({
  options: {
    turns: { type: "string", default: "10000" },
    checkpoint: { type: "string", default: "2000" },
    every: { type: "string", default: "2000" },
    conversations: { type: "string", default: "50" },
    "max-concurrent": { type: "string", default: "4" },
    "max-growth": { type: "string", default: "0.05" },
    /** A turn whose final event has not arrived by then fails the drill (instead of hanging it). */
    "turn-timeout-ms": { type: "string", default: "30000" },
    /** Writes V8-format heap snapshots at the checkpoint and the end into this dir (for snapshot-diff.ts). */
    snapshots: { type: "string" },
  },
});
const totalTurns = Number(args.turns);
const checkpoint = Number(args.checkpoint);
const every = Number(args.every);
const conversationCount = Number(args.conversations);
const maxGrowth = Number(args["max-growth"]);
const turnTimeoutMs = Number(args["turn-timeout-ms"]);
// Bun's fetch client runs at most BUN_CONFIG_MAX_HTTP_REQUESTS (default 256) requests at once; every
// watcher holds one for the whole run, and a request past the cap waits forever.
const maxHttpRequests = Number(process.env.BUN_CONFIG_MAX_HTTP_REQUESTS ?? 256);
if (conversationCount + 8 > maxHttpRequests) {
  throw new Error(
    `--conversations ${conversationCount} needs more than ${maxHttpRequests} concurrent fetches: set BUN_CONFIG_MAX_HTTP_REQUESTS`,
  );
}
if (!(checkpoint > 0 && checkpoint < totalTurns && every > 0 && conversationCount > 0)) {
  throw new Error("expected 0 < --checkpoint < --turns, --every > 0, --conversations > 0");
}

if (args.snapshots !== undefined) mkdirSync(args.snapshots, { recursive: true });
const stack = await startDrillStack({ maxConcurrent: Number(args["max-concurrent"]) });
const watchers: TurnWatcher[] = [];
let exitCode = 0;

interface Reading {
  turns: number;
  memory: SettledMemory;
  turnsPerS: number | null;
  dbBytes: number;
}
const readings: Reading[] = [];

function orchestratorStats() {
  const { orchestrator, host } = stack;
  const stats = orchestrator instanceof TurnOrchestrator ? orchestrator.stats : undefined;
  return {
    ...stats,
    busConversationEvent: host.bus.listenerCount("conversation.event"),
    busTurnFinished: host.bus.listenerCount("turn.finished"),
    activeConversations: orchestrator.getActiveConversationCount(),
  };
}

async function read(turns: number, turnsPerS: number | null): Promise<Reading> {
  const memory = await settledMemory();
  const db = Object.values(dirBytes(stack.dataDir)).reduce((a, b) => a + b, 0);
  const reading = { turns, memory, turnsPerS, dbBytes: db };
  readings.push(reading);
  if (args.snapshots !== undefined && (turns === checkpoint || turns === totalTurns)) {
    const file = join(args.snapshots, `soak-${turns}.heapsnapshot`);
    writeFileSync(file, Bun.generateHeapSnapshot("v8"));
    console.log(`heap snapshot: ${file}`);
  }
  console.log(
    `turns ${String(turns).padStart(6)}  heapUsed ${mib(memory.heapUsed)} MiB  heapTotal ${mib(memory.heapTotal)} MiB  ` +
      `objects ${memory.objectCount}  ` +
      `rss ${mib(memory.rss)} MiB (anon ${mib(memory.rssAnon)}, file ${mib(memory.rssFile)}, shmem ${mib(memory.rssShmem)})  ` +
      `db files ${mib(db)} MiB${turnsPerS === null ? "" : `  ${turnsPerS.toFixed(0)} turns/s`}`,
  );
  return reading;
}

/** Rejects when `promise` has not settled within `ms`; the timer is cleared either way (no pile-up). */
async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} not finished within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let issued = 0;
let failed = 0;
/** Runs turns until `target` have been issued in total; each watcher's client keeps one turn in flight. */
async function runUntil(target: number): Promise<number> {
  const began = performance.now();
  const before = issued;
  const client = async (watcher: TurnWatcher) => {
    while (issued < target) {
      issued += 1;
      const res = await fetch(`${stack.url}/conversations/${watcher.conversationId}/messages`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text: `Soak turn ${issued}: please answer briefly.` }),
      });
      if (res.status !== 202) throw new Error(`POST message: ${res.status} ${await res.text()}`);
      const { turnId } = (await res.json()) as { turnId: string };
      const final = await withTimeout(watcher.finished(turnId), turnTimeoutMs, `turn ${turnId}`);
      if (final !== "turn.completed") failed += 1;
    }
  };
  await Promise.all(watchers.map(client));
  return ((issued - before) * 1000) / (performance.now() - began);
}

try {
  console.log(`extensions: ${stack.extensionIds.join(", ")}`);
  console.log(
    `${totalTurns} turns over ${conversationCount} conversations through ${stack.url}, ` +
      `scripted provider (zero delay, maxConcurrent ${args["max-concurrent"]}); readings after Bun.gc(true)`,
  );
  for (let i = 0; i < conversationCount; i += 1) {
    const id = await createConversation(stack.url, `soak ${i}`);
    watchers.push(await withTimeout(TurnWatcher.open(stack.url, id), 10_000, `opening the stream of ${id}`));
  }
  await read(0, null);
  const marks = new Set<number>([checkpoint, totalTurns]);
  for (let t = every; t < totalTurns; t += every) marks.add(t);
  for (const mark of [...marks].sort((a, b) => a - b)) {
    const rate = await runUntil(mark);
    await read(mark, rate);
  }

  const base = readings.find((r) => r.turns === checkpoint) as Reading;
  const end = readings.at(-1) as Reading;
  const growth = end.memory.heapUsed / base.memory.heapUsed - 1;
  const rssGrowth = end.memory.rss / base.memory.rss - 1;
  console.log("\nobject types that changed most between the checkpoint and the end:");
  console.table(typeCountGrowth(base.memory.objectTypeCounts, end.memory.objectTypeCounts));
  console.log(
    `heap after GC: ${mib(base.memory.heapUsed)} MiB at turn ${checkpoint} -> ${mib(end.memory.heapUsed)} MiB at turn ${totalTurns}: ` +
      `ratio ${(1 + growth).toFixed(4)} (${(growth * 100).toFixed(2)}%)`,
  );
  console.log(
    `rss: ${mib(base.memory.rss)} MiB -> ${mib(end.memory.rss)} MiB (${(rssGrowth * 100).toFixed(1)}%); ` +
      `db files ${mib(base.dbBytes)} MiB -> ${mib(end.dbBytes)} MiB`,
  );
  console.log(`turns not completed: ${failed}`);
  const during = orchestratorStats();
  for (const watcher of watchers.splice(0)) await watcher.close();
  // The server notices the disconnects asynchronously; give it a bounded moment.
  const deadline = Date.now() + 5000;
  let after = orchestratorStats();
  while ((after.subscriptions ?? 0) > 0 && Date.now() < deadline) {
    await Bun.sleep(20);
    after = orchestratorStats();
  }
  console.log("listeners with the watchers open:", JSON.stringify(during));
  console.log("listeners after the watchers closed:", JSON.stringify(after));
  const leftOver = (after.subscriptions ?? 0) + (after.liveListeners ?? 0) + after.activeConversations;
  const met = growth < maxGrowth;
  console.log(
    met
      ? `target met: growth under ${maxGrowth * 100}%`
      : `target MISSED: growth ${maxGrowth * 100}% or more`,
  );
  if (stack.warnings.size > 0)
    console.log("warnings logged:", JSON.stringify(Object.fromEntries(stack.warnings)));
  console.log(
    `DRILL_RESULT ${JSON.stringify({
      drill: "soak",
      turns: totalTurns,
      checkpoint,
      conversations: conversationCount,
      failed,
      heapUsedAtCheckpoint: base.memory.heapUsed,
      heapUsedAtEnd: end.memory.heapUsed,
      growth,
      rssAtCheckpoint: base.memory.rss,
      rssAtEnd: end.memory.rss,
      dbBytesAtEnd: end.dbBytes,
      leftOver,
      readings: readings.map((r) => ({
        turns: r.turns,
        heapUsed: r.memory.heapUsed,
        jscHeapSize: r.memory.jscHeapSize,
        rss: r.memory.rss,
        rssAnon: r.memory.rssAnon,
        objects: r.memory.objectCount,
        turnsPerS: r.turnsPerS,
      })),
    })}`,
  );
  if (failed > 0 || leftOver > 0) exitCode = 1;
  else if (!met) exitCode = 3;
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  for (const watcher of watchers) await watcher.close();
  await stack.stop();
}
process.exit(exitCode);
