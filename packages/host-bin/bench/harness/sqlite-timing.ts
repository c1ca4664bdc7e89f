/**
 * Where the host's SQLite time goes, statement by statement: a preload that times every call of every
 * bun:sqlite statement (`run`, `get`, `all`, `values`) in a `dispatch serve` process and, when that
 * process exits, writes `{ sql: [calls, ns] }` to `$SQLITE_TIMING_DIR/<pid>.json`. Run directly on
 * such a file it prints statements by total time, per turn when given the number of turns.
 *
 *   SQLITE_TIMING_DIR=/tmp/t BUN_OPTIONS="--preload $PWD/packages/host-bin/bench/harness/sqlite-timing.ts" \
 *     bun packages/host-bin/bench/hot-path.ts --runs 1 --widths 64 --wires openai --only turns
 *   bun packages/host-bin/bench/harness/sqlite-timing.ts /tmp/t/<pid>.json 1024
 *
 * (an absolute path: the host runs in a temporary directory; 1,024 turns there: 64 conversations × 5 warm-up, 1 first and 10 measured turns.) The times are wall
 * time inside each synchronous call, which for SQLite on the event loop is CPU plus page-cache I/O.
 */
import { Database, type Statement } from "bun:sqlite";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

type Timings = Record<string, [calls: number, ns: number]>;
const methods = ["run", "get", "all", "values"] as const;

function install(dir: string): void {
  const timings: Timings = {};
  const timed = new WeakSet<Statement>();
  const time = (statement: Statement, sql: string): Statement => {
    if (timed.has(statement)) return statement;
    timed.add(statement);
    const key = sql.replace(/\s+/g, " ").trim().slice(0, 140);
    for (const method of methods) {
      const original = statement[method].bind(statement) as (...args: unknown[]) => unknown;
      const entry = `${method} ${key}`;
      Object.defineProperty(statement, method, {
        value: (...args: unknown[]) => {
          const started = Bun.nanoseconds();
          try {
            return original(...args);
          } finally {
            const slot = timings[entry] ?? [0, 0];
            slot[0] += 1;
            slot[1] += Bun.nanoseconds() - started;
            timings[entry] = slot;
          }
        },
      });
    }
    return statement;
  };
  for (const name of ["prepare", "query"] as const) {
    const original = Database.prototype[name] as (
      this: Database,
      sql: string,
      ...rest: unknown[]
    ) => Statement;
    Object.defineProperty(Database.prototype, name, {
      value(this: Database, sql: string, ...rest: unknown[]) {
        return time(original.call(this, sql, ...rest), sql);
      },
    });
  }
  process.on("exit", () => writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify(timings)));
}

const dir = process.env.SQLITE_TIMING_DIR;
if (import.meta.main) {
  const [file, turnsArg] = process.argv.slice(2);
  if (file === undefined) {
    console.error("usage: sqlite-timing.ts FILE.json [turns]");
    process.exit(2);
  }
  const per = Number(turnsArg ?? 1);
  const rows = Object.entries(JSON.parse(readFileSync(file, "utf8")) as Timings).sort(
    (a, b) => b[1][1] - a[1][1],
  );
  const calls = rows.reduce((sum, [, [n]]) => sum + n, 0);
  const ns = rows.reduce((sum, [, [, t]]) => sum + t, 0);
  console.log(
    `${(calls / per).toFixed(1)} statements, ${(ns / per / 1000).toFixed(1)} µs per ${per === 1 ? "run" : "turn"}`,
  );
  for (const [sql, [n, t]] of rows.slice(0, 30)) {
    const each = (t / n / 1000).toFixed(1);
    console.log(
      `${(t / per / 1000).toFixed(1).padStart(8)} µs ${(n / per).toFixed(2).padStart(6)} × ${each.padStart(6)} µs  ${sql}`,
    );
  }
} else if (dir !== undefined && process.argv.includes("serve")) {
  install(dir);
}
