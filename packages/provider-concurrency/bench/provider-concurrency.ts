/**
 * The concurrency manager against p-queue (with priorities), measured in the same run:
 *   1. acquire+release cycles per second, uncontended (one caller, a free slot every time);
 *   2. the same with 10,000 queued waiters (limit 1, 10,000 callers each looping acquire → release);
 *   3. the time to star a workspace that owns 1,000 of 100,000 queued waiters
 *      (p-queue: `setPriority` on those 1,000 tasks).
 * Each figure is the median of several rounds; the two sides alternate within a round.
 *
 *   bun packages/provider-concurrency/bench/provider-concurrency.ts [--rounds N]
 */
import { median, percentile } from "@dispatch/bench-kit";
import PQueue from "p-queue";
import { createConcurrencyManager } from "../src/concurrency-manager.ts";
import type { AcquireRequest, Lease } from "../src/types.ts";
import { seededRandom } from "../test/seeded-random.ts";

const roundsArg = process.argv.indexOf("--rounds");
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 5;
const uncontendedCycles = 300_000;
const queuedWaiters = 10_000;
const queuedCycles = 200_000;
const toggleQueue = 100_000;
const toggleOwned = 1_000;

/**
 * The same priority stream for both sides: 10% of callers are in starred workspaces; prompts are
 * fresh (increasing time) with up to 2 s of jitter, so inserts land throughout the queue.
 */
function priorities(seed: number) {
  const next = seededRandom(seed);
  // Recent prompts, so none is old enough to age into the starred class.
  let clock = Date.now();
  return () => {
    clock += 1;
    const starred = next() < 0.1;
    const promptStartedAt = clock - Math.floor(next() * 2_000);
    // p-queue: higher runs first; starred dominates, then older prompts.
    return { starred, promptStartedAt, pqueuePriority: (starred ? 1e13 : 0) - (promptStartedAt - 1.7e12) };
  };
}

const noop = () => undefined;

async function managerUncontended(): Promise<number> {
  const manager = createConcurrencyManager({ watchdogIntervalMs: 3_600_000 });
  manager.setLimit("p", 1);
  const request: AcquireRequest = { providerId: "p", workspaceId: "w", promptStartedAt: 0 };
  const start = performance.now();
  for (let i = 0; i < uncontendedCycles; i++) (await manager.acquire(request)).release();
  const ms = performance.now() - start;
  manager.dispose();
  return (uncontendedCycles / ms) * 1000;
}

async function pqueueUncontended(): Promise<number> {
  const queue = new PQueue({ concurrency: 1 });
  const start = performance.now();
  for (let i = 0; i < uncontendedCycles; i++) await queue.add(noop, { priority: 0 });
  return (uncontendedCycles / (performance.now() - start)) * 1000;
}

/** Runs `waiters` loops of acquire → release against one slot until `queuedCycles` grants. */
async function managerQueued(seed: number): Promise<number> {
  const manager = createConcurrencyManager({ maxQueue: queuedWaiters + 1, watchdogIntervalMs: 3_600_000 });
  manager.setLimit("p", 1);
  const nextPriority = priorities(seed);
  for (let w = 0; w < 1_000; w++) manager.setStarred(`s${w}`, true);
  let done = 0;
  let end = 0;
  const worker = async (id: number) => {
    while (done < queuedCycles) {
      const p = nextPriority();
      const lease: Lease = await manager.acquire({
        providerId: "p",
        workspaceId: p.starred ? `s${id % 1_000}` : `u${id}`,
        promptStartedAt: p.promptStartedAt,
      });
      if (++done === queuedCycles) end = performance.now();
      lease.release();
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: queuedWaiters }, (_, i) => worker(i)));
  manager.dispose();
  return (queuedCycles / (end - start)) * 1000;
}

async function pqueueQueued(seed: number): Promise<number> {
  const queue = new PQueue({ concurrency: 1 });
  const nextPriority = priorities(seed);
  let done = 0;
  let end = 0;
  const worker = async () => {
    while (done < queuedCycles) {
      await queue.add(noop, { priority: nextPriority().pqueuePriority });
      if (++done === queuedCycles) end = performance.now();
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: queuedWaiters }, () => worker()));
  return (queuedCycles / (end - start)) * 1000;
}

/**
 * Milliseconds for each star and unstar of a workspace owning 1,000 of 100,000 waiters. With
 * `forceGc`, a full collection runs before each toggle (untimed), to tell GC pauses of the 100,000
 * pending promises apart from the toggle's own cost.
 */
async function managerStarToggle(toggles: number, forceGc: boolean): Promise<number[]> {
  const manager = createConcurrencyManager({ maxQueue: toggleQueue, watchdogIntervalMs: 3_600_000 });
  manager.setLimit("p", 1);
  const held = await manager.acquire({ providerId: "p", workspaceId: "x", promptStartedAt: 0 });
  const next = seededRandom(7);
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < toggleQueue; i++) {
    const workspaceId = i % (toggleQueue / toggleOwned) === 0 ? "target" : `w${Math.floor(next() * 999)}`;
    const promptStartedAt = Date.now() - Math.floor(next() * 60_000);
    pending.push(manager.acquire({ providerId: "p", workspaceId, promptStartedAt }).catch(noop));
  }
  const times: number[] = [];
  for (let i = 0; i < toggles; i++) {
    if (forceGc) Bun.gc(true);
    const start = performance.now();
    manager.setStarred("target", i % 2 === 0);
    times.push(performance.now() - start);
  }
  const first = manager.snapshot()[0]?.queue[0];
  if (toggles % 2 === 1 && first?.workspaceId !== "target")
    throw new Error("the star did not move the waiters");
  manager.dispose();
  held.release();
  await Promise.all(pending);
  return times;
}

async function pqueueStarToggle(toggles: number): Promise<number[]> {
  const queue = new PQueue({ concurrency: 1 });
  let unblock = noop as () => void;
  void queue.add(() => new Promise<void>((resolve) => (unblock = resolve)));
  const next = seededRandom(7);
  const ids: string[] = [];
  for (let i = 0; i < toggleQueue; i++) {
    const owned = i % (toggleQueue / toggleOwned) === 0;
    const id = owned ? `t${i}` : undefined;
    if (id !== undefined) ids.push(id);
    void queue.add(noop, { priority: -Math.floor(next() * 60_000), id });
  }
  const times: number[] = [];
  for (let i = 0; i < toggles; i++) {
    const start = performance.now();
    for (const [k, id] of ids.entries()) queue.setPriority(id, i % 2 === 0 ? 1e9 + k : -k);
    times.push(performance.now() - start);
  }
  queue.clear();
  unblock();
  await queue.onIdle();
  return times;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const results: Record<string, { manager: number[]; pqueue: number[] }> = {
  uncontended: { manager: [], pqueue: [] },
  queued: { manager: [], pqueue: [] },
};
for (let r = 0; r < rounds; r++) {
  const managerFirst = r % 2 === 0;
  const pairs: Array<[keyof typeof results, () => Promise<number>, () => Promise<number>]> = [
    ["uncontended", managerUncontended, pqueueUncontended],
    ["queued", () => managerQueued(r), () => pqueueQueued(r)],
  ];
  for (const [name, m, p] of pairs) {
    const entry = results[name] as { manager: number[]; pqueue: number[] };
    if (managerFirst) {
      entry.manager.push(await m());
      entry.pqueue.push(await p());
    } else {
      entry.pqueue.push(await p());
      entry.manager.push(await m());
    }
  }
}
for (const [name, { manager, pqueue }] of Object.entries(results)) {
  const m = median(manager);
  const p = median(pqueue);
  console.log(
    `${name.padEnd(12)} manager ${fmt(m).padStart(10)} cycles/s   p-queue ${fmt(p).padStart(10)} cycles/s   ratio ${(m / p).toFixed(2)}x   (median of ${rounds})`,
  );
}
const pqueueToggles = await pqueueStarToggle(3);
const pt = median(pqueueToggles);
for (const forceGc of [false, true]) {
  const toggles = await managerStarToggle(41, forceGc);
  const mt = median(toggles);
  const p95 = percentile(toggles, 95);
  console.log(
    `star toggle  manager median ${mt.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms, max ${Math.max(...toggles).toFixed(3)} ms, first ${toggles[0]?.toFixed(3)} ms${forceGc ? " (GC forced before each)" : ""}   p-queue setPriority ${pt.toFixed(1)} ms   ratio ${(pt / mt).toFixed(0)}x   (1,000 of 100,000 waiters, ${toggles.length} toggles)`,
  );
}
