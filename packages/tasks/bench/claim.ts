/**
 * Task claims: `TaskQueue.claim()` (an aging update, then one UPDATE that checks every limit, with a
 * trigger doing the bookkeeping, then the attempts read for the event) against a bare
 * `UPDATE … RETURNING` that takes the next queued row on the same table and index, in the same run,
 * with 1,000, 10,000 and 100,000 tasks queued (the claim trigger fires for both). Each claimed task is
 * completed outside the timing, so the running count stays small on both sides, as it does in a host,
 * and on the connection that claimed it: a write from a second connection makes the next statement
 * of the first reload its page cache, a cost a host (one connection per store) never pays.
 *
 *   bun packages/tasks/bench/claim.ts [rounds] [claimsPerRound]
 */

import { Database } from "bun:sqlite";
import { join } from "node:path";
import { median } from "@dispatch/bench-kit";
import { conversationStoreRef, databaseFileName } from "@dispatch/conversation-store";
import { eq } from "drizzle-orm";
import { tasks } from "../src/schema.ts";
import { queueHost } from "../test/fixtures.ts";

const rounds = Number(process.argv[2] ?? 5);
const claims = Number(process.argv[3] ?? 2000);
const sizes = [1_000, 10_000, 100_000];

const bare = `UPDATE tasks_tasks SET status = 'running', attempt = attempt + 1, updated_at = ?1
  WHERE id = (SELECT id FROM tasks_tasks INDEXED BY tasks_tasks_claim_idx
              WHERE status IN ('queued', 'stuck') AND next_run_at <= ?1
              ORDER BY rank, priority DESC, created_at, seq LIMIT 1)
  RETURNING id`;

const results: string[] = [];
for (const size of sizes) {
  const h = await queueHost({ maxRunning: 1000, maxQueued: 10_000_000 });
  const store = h.test.get(conversationStoreRef);
  await store.workspaces.create({ id: "ws", root: "/tmp/ws" });
  const db = store.database({ tasks });
  const raw = new Database(join(h.test.dataDir, databaseFileName));
  raw.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000");
  const insert = raw.prepare(
    `INSERT INTO tasks_tasks (id, seq, workspace_id, title, spec, status, priority, rank, attempt, max_attempts,
       options, next_run_at, created_at, updated_at)
     VALUES (?1, ?2, 'ws', 'bench', 'spec', 'queued', ?3, 1, 0, 3, '{}', 0, ?4, 0)`,
  );
  // fresh (none aged yet), priorities spread over seven levels
  const now = Date.now();
  raw.transaction(() => {
    for (let i = 1; i <= size; i++) insert.run(`tk_${i}`, i, i % 7, now + i);
  })();
  // no ANALYZE: a host never runs it either
  const bareClaim = raw.prepare(bare);
  const complete = raw.prepare("UPDATE tasks_tasks SET status = 'completed' WHERE id = ?1");
  const reset = raw.prepare("UPDATE tasks_tasks SET status = 'queued', attempt = 0 WHERE status != 'queued'");

  const ours: number[] = [];
  const baseline: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let spent = 0;
    for (let i = 0; i < claims; i++) {
      const began = performance.now();
      const claimed = await h.queue.claim();
      spent += performance.now() - began;
      if (!("n" in claimed)) throw new Error(`claim refused: ${claimed.reason}`);
      await db.update(tasks).set({ status: "completed" }).where(eq(tasks.id, claimed.id));
    }
    ours.push(claims / (spent / 1000));
    reset.run();
    raw.exec("DELETE FROM tasks_attempts");

    spent = 0;
    for (let i = 0; i < claims; i++) {
      const began = performance.now();
      // values(), not get(): get() resets the statement before SQLite's last step, which is where
      // SQLite runs the WAL auto-checkpoint, so get() would leave the checkpoint to the untimed
      // completion below (77-87 µs against 137-145 µs for this statement in one run)
      const [row] = bareClaim.values(Date.now()) as Array<[string]>;
      spent += performance.now() - began;
      if (row === undefined) throw new Error("bare claim found nothing");
      complete.run(row[0]);
    }
    baseline.push(claims / (spent / 1000));
    reset.run();
    raw.exec("DELETE FROM tasks_attempts");
  }
  raw.close();
  await h.test.stop();
  const o = median(ours);
  const b = median(baseline);
  results.push(
    `${String(size).padStart(7)} queued: claim ${o.toFixed(0).padStart(6)}/s (${(1e6 / o).toFixed(0)} µs), bare UPDATE…RETURNING ${b.toFixed(0).padStart(6)}/s (${(1e6 / b).toFixed(0)} µs), ratio ${(o / b).toFixed(2)}`,
  );
  console.log(results.at(-1));
}
