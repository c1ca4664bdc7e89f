/**
 * Event log throughput: the store's append / appendMany / listAfter against raw prepared bun:sqlite
 * statements on the same table shape (a database migrated by the store, same pragmas) in the same run.
 *
 *   bun packages/conversation-store/bench/events.ts [rounds]
 */

import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "@dispatch/bench-kit";
import { type NewEvent, type OpenedConversationStore, openConversationStore } from "../src/index.ts";

const rounds = Number(process.argv[2] ?? 5);
const singleCount = 10_000;
const batchSize = 1_000;
const batchedCount = 200_000;
const pageSize = 1_000;

const dir = mkdtempSync(join(tmpdir(), "dispatch-bench-events-"));
const event = (i: number): NewEvent => ({
  type: "text.delta",
  turnId: null,
  data: { text: "hello, world ", i },
});
const batch: NewEvent[] = Array.from({ length: batchSize }, (_, i) => event(i));

async function newConversation(store: OpenedConversationStore): Promise<string> {
  return (await store.conversations.create({ workspaceId: "default", provider: "bench", model: "bench" })).id;
}

// The raw side gets its own file with the store's schema, then a plain connection with the same pragmas.
const rawPath = join(dir, "raw.db");
const rawSetup = openConversationStore({ path: rawPath });
const rawConversations = await Promise.all(
  Array.from({ length: rounds * 3 }, () => newConversation(rawSetup)),
);
rawSetup.close();
const raw = new Database(rawPath);
raw.run("PRAGMA busy_timeout = 5000");
raw.run("PRAGMA journal_mode = WAL");
raw.run("PRAGMA synchronous = NORMAL");
raw.run("PRAGMA foreign_keys = ON");
const rawInsert = raw.prepare(
  "INSERT INTO events (conversation_id, seq, type, turn_id, at, data) VALUES (?, ?, ?, ?, ?, ?)",
);
const rawAfter = raw.prepare(
  "SELECT seq, type, turn_id, at, data FROM events WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
);
const begin = raw.prepare("BEGIN IMMEDIATE");
const commit = raw.prepare("COMMIT");

const store = openConversationStore({ path: join(dir, "store.db") });

function rate(count: number, ms: number): number {
  return (count / ms) * 1000;
}

function time(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

async function timeAsync(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const rawSingle = (conv: string) =>
  rate(
    singleCount,
    time(() => {
      for (let i = 0; i < singleCount; i++) {
        const e = event(i);
        begin.run();
        rawInsert.run(conv, i + 1, e.type, e.turnId, Date.now(), JSON.stringify(e.data));
        commit.run();
      }
    }),
  );

const rawBatched = (conv: string) =>
  rate(
    batchedCount,
    time(() => {
      let seq = 0;
      for (let b = 0; b < batchedCount / batchSize; b++) {
        begin.run();
        const at = Date.now();
        for (const e of batch) rawInsert.run(conv, ++seq, e.type, e.turnId, at, JSON.stringify(e.data));
        commit.run();
      }
    }),
  );

const rawRead = (conv: string) =>
  rate(
    batchedCount,
    time(() => {
      let after = 0;
      for (;;) {
        const rows = rawAfter.all(conv, after, pageSize) as Array<{ seq: number }>;
        if (rows.length === 0) break;
        after = (rows[rows.length - 1] as { seq: number }).seq;
      }
    }),
  );

const storeSingle = async (conv: string) =>
  rate(
    singleCount,
    await timeAsync(async () => {
      for (let i = 0; i < singleCount; i++) await store.events.append(conv, event(i));
    }),
  );

const storeBatched = async (conv: string) =>
  rate(
    batchedCount,
    await timeAsync(async () => {
      for (let b = 0; b < batchedCount / batchSize; b++) await store.events.appendMany(conv, batch);
    }),
  );

const storeRead = async (conv: string) =>
  rate(
    batchedCount,
    await timeAsync(async () => {
      let after = 0;
      for (;;) {
        const page = await store.events.listAfter(conv, after, pageSize);
        if (page.length === 0) break;
        after = (page[page.length - 1] as { seq: number }).seq;
      }
    }),
  );

type Row = { single: number; batched: number; read: number };
const results: { raw: Row[]; store: Row[] } = { raw: [], store: [] };

for (let r = 0; r < rounds; r++) {
  const [rawSingleConv, rawBatchConv] = [
    rawConversations[r * 3] as string,
    rawConversations[r * 3 + 1] as string,
  ];
  const [storeSingleConv, storeBatchConv] = [await newConversation(store), await newConversation(store)];
  // Alternate who goes first so that warm-up and machine noise do not favour one side.
  const runRaw = () => ({
    single: rawSingle(rawSingleConv),
    batched: rawBatched(rawBatchConv),
    read: rawRead(rawBatchConv),
  });
  const runStore = async () => ({
    single: await storeSingle(storeSingleConv),
    batched: await storeBatched(storeBatchConv),
    read: await storeRead(storeBatchConv),
  });
  if (r % 2 === 0) {
    results.raw.push(runRaw());
    results.store.push(await runStore());
  } else {
    results.store.push(await runStore());
    results.raw.push(runRaw());
  }
  const last = (side: Row[]) => side[side.length - 1] as Row;
  console.log(
    `round ${r + 1}: ` +
      (["single", "batched", "read"] as const)
        .map((k) => `${k} store ${fmt(last(results.store)[k])} / raw ${fmt(last(results.raw)[k])}`)
        .join(" | "),
  );
}

function fmt(perSecond: number): string {
  return `${Math.round(perSecond).toLocaleString("en-US")}/s`;
}

console.log(`\nmedians of ${rounds} rounds (events/s; ratio = store / raw):`);
const labels = {
  single: `append, one per transaction (${singleCount.toLocaleString("en-US")})`,
  batched: `appendMany, ${batchSize} per transaction (${batchedCount.toLocaleString("en-US")})`,
  read: `listAfter, pages of ${pageSize} (${batchedCount.toLocaleString("en-US")})`,
};
for (const k of ["single", "batched", "read"] as const) {
  const s = median(results.store.map((row) => row[k]));
  const w = median(results.raw.map((row) => row[k]));
  console.log(
    `  ${labels[k].padEnd(52)} store ${fmt(s).padStart(12)}  raw ${fmt(w).padStart(12)}  ratio ${(s / w).toFixed(2)}`,
  );
}

store.close();
raw.close();
rmSync(dir, { recursive: true, force: true });
