/**
 * What SQLite itself charges for a streaming host's event writes, with no store code in the way: raw
 * prepared bun:sqlite statements on the events table's shape (rowid table, primary key on
 * (conversation_id, seq), a foreign key to conversations), WAL with synchronous = NORMAL as the
 * store opens it. Groups of 20 one-row inserts to 20 of 100 conversations, one transaction each, as
 * a group commit of text flushes; reported with the WAL's auto-checkpoint at 1000 pages (SQLite's
 * default, the store's) and off. Medians of 3 runs of 3000 groups.
 *
 *   bun packages/conversation-store/bench/commit-cost.ts
 */
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "@dispatch/bench-kit";

const groups = 3000;
const perGroup = 20;
const data = JSON.stringify({ text: "a chunk of streamed text, as one flush of a turn holds ".repeat(2) });

/** CPU µs per row and wall µs per COMMIT, for one fresh file. */
function run(autocheckpoint: number): { cpuPerRow: number; commitUs: number } {
  const dir = mkdtempSync(join(tmpdir(), "dispatch-bench-commit-"));
  const db = new Database(join(dir, "db.sqlite"), { create: true });
  try {
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA synchronous = NORMAL");
    db.run(`PRAGMA wal_autocheckpoint = ${autocheckpoint}`);
    db.run("PRAGMA foreign_keys = ON");
    db.run("CREATE TABLE conversations (id TEXT PRIMARY KEY)");
    db.run(
      "CREATE TABLE events (conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE, seq INTEGER NOT NULL, type TEXT NOT NULL, turn_id TEXT, at INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (conversation_id, seq))",
    );
    const ids = Array.from({ length: 100 }, () => `c_${Bun.randomUUIDv7()}`);
    for (const id of ids) db.run("INSERT INTO conversations VALUES (?)", [id]);
    const insert = db.prepare("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)");
    const begin = db.prepare("BEGIN IMMEDIATE");
    const commit = db.prepare("COMMIT");
    const seqs = new Map(ids.map((id) => [id, 0]));
    let commitMs = 0;
    let next = 0;
    const start = process.cpuUsage();
    for (let g = 0; g < groups; g++) {
      begin.run();
      for (let i = 0; i < perGroup; i++) {
        const id = ids[next++ % ids.length] as string;
        const seq = (seqs.get(id) ?? 0) + 1;
        seqs.set(id, seq);
        insert.run(id, seq, "text.delta", "t_bench", Date.now(), data);
      }
      const t = performance.now();
      commit.run();
      commitMs += performance.now() - t;
    }
    const used = process.cpuUsage(start);
    return {
      cpuPerRow: (used.user + used.system) / (groups * perGroup),
      commitUs: (commitMs * 1000) / groups,
    };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const autocheckpoint of [1000, 0]) {
  const runs = [run(autocheckpoint), run(autocheckpoint), run(autocheckpoint)];
  console.log(
    `wal_autocheckpoint ${autocheckpoint}: ${median(runs.map((r) => r.cpuPerRow)).toFixed(1)} µs CPU per row, COMMIT of ${perGroup} rows ${median(runs.map((r) => r.commitUs)).toFixed(0)} µs`,
  );
}
