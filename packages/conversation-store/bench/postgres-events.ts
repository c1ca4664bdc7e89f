/**
 * The event log on PostgreSQL: the store's append / appendMany against raw INSERTs of the same rows
 * through the same driver (Bun.sql, a pool of the same size) on the same database, in the same run,
 * rounds alternating. The raw side knows its seqs already; the store reads and moves
 * `conversations.last_seq` in the same statement (that is the price of no gap, no duplicate across
 * hosts).
 *
 *   bun packages/conversation-store/bench/postgres-events.ts [rounds]
 *
 * Uses DISPATCH_TEST_POSTGRES_URL when set, otherwise starts a throwaway server (as the tests do).
 */

import { median } from "@dispatch/bench-kit";
import { SQL } from "bun";
import type { NewEvent } from "../src/index.ts";
import { openPostgresStore } from "../src/postgres/open-postgres-store.ts";
import { createTestDatabase } from "../src/testing/postgres-server.ts";

const rounds = Number(process.argv[2] ?? 5);
const singles = 2_000;
const batchSize = 1_000;
const batches = 20;

const event = (i: number): NewEvent => ({
  type: "text.delta",
  turnId: null,
  data: { text: "hello, world ", i },
});
const batch: NewEvent[] = Array.from({ length: batchSize }, (_, i) => event(i));

const database = await createTestDatabase();
const store = await openPostgresStore({
  url: database.url,
  defaultWorkspaceRoot: "/tmp/bench",
  maxConnections: 4,
});
const raw = new SQL(database.url, { max: 4 });

async function conversation(): Promise<string> {
  return (await store.conversations.create({ workspaceId: "default", provider: "bench", model: "bench" })).id;
}

async function rate(count: number, fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return (count / (performance.now() - start)) * 1000;
}

const results = {
  storeSingle: [] as number[],
  rawSingle: [] as number[],
  storeBatch: [] as number[],
  rawBatch: [] as number[],
};
for (let round = 0; round < rounds; round++) {
  const [a, b, c, d] = [
    await conversation(),
    await conversation(),
    await conversation(),
    await conversation(),
  ];
  results.storeSingle.push(
    await rate(singles, async () => {
      for (let i = 0; i < singles; i++) await store.events.append(a, event(i));
    }),
  );
  results.rawSingle.push(
    await rate(singles, async () => {
      for (let i = 0; i < singles; i++) {
        const e = event(i);
        await raw`insert into events (conversation_id, seq, type, turn_id, at, data)
          values (${b}, ${i + 1}, ${e.type}, ${e.turnId}, ${Date.now()}, ${JSON.stringify(e.data)})`;
      }
    }),
  );
  results.storeBatch.push(
    await rate(batches * batchSize, async () => {
      for (let k = 0; k < batches; k++) await store.events.appendMany(c, batch);
    }),
  );
  results.rawBatch.push(
    await rate(batches * batchSize, async () => {
      for (let k = 0; k < batches; k++) {
        const at = Date.now();
        await raw`insert into events (conversation_id, seq, type, turn_id, at, data)
          select ${d}, ${k * batchSize} + e.ord, e.type, e.turn_id, ${at}, e.data
          from unnest(${batch.map((e) => e.type)}::text[], ${batch.map((e) => e.turnId)}::text[],
            ${batch.map((e) => JSON.stringify(e.data))}::text[]) with ordinality as e(type, turn_id, data, ord)`;
      }
    }),
  );
}

const fmt = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(1)}k/s` : `${n.toFixed(0)}/s`);
const ratios = (s: number[], r: number[]) => s.map((v, i) => v / (r[i] as number));
console.log(`rounds: ${rounds}; one append per statement: ${singles}; batches: ${batches} × ${batchSize}`);
for (const [name, s, r] of [
  ["append (one per call)", results.storeSingle, results.rawSingle],
  ["appendMany (1,000 per call)", results.storeBatch, results.rawBatch],
] as const) {
  const rs = ratios(s, r);
  console.log(
    `${name.padEnd(28)} store ${fmt(median(s)).padStart(9)}  raw INSERT ${fmt(median(r)).padStart(9)}  store/raw median ${median(rs).toFixed(2)} (${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)})`,
  );
}
await raw.close();
await store.close();
await database.drop();
process.exit(0);
