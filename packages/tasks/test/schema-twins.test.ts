import { expect, test } from "bun:test";
import { join } from "node:path";
import { extensionMigrationDrift, schemaTwinDifferences } from "@dispatch/conversation-store/testing";
import * as pg from "../src/pg-schema.ts";
import * as lite from "../src/schema.ts";

// The queue is written once against the SQLite typing and runs on either schema
// (src/tasks-database.ts), which is sound only while the twins agree: same tables, same columns
// under the same names, same row types.

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const rowsAgree: [
  Equal<typeof pg.tasks.$inferSelect, typeof lite.tasks.$inferSelect>,
  Equal<typeof pg.attempts.$inferSelect, typeof lite.attempts.$inferSelect>,
  Equal<typeof pg.days.$inferSelect, typeof lite.days.$inferSelect>,
  Equal<typeof pg.breakers.$inferSelect, typeof lite.breakers.$inferSelect>,
  Equal<typeof pg.claimLock.$inferSelect, typeof lite.claimLock.$inferSelect>,
  Equal<typeof pg.tasks.$inferInsert, typeof lite.tasks.$inferInsert>,
] = [true, true, true, true, true, true];

test("the Postgres tables are the SQLite tables' twins: names, columns and row types", () => {
  expect(rowsAgree.every(Boolean)).toBe(true);
  expect(schemaTwinDifferences(lite, pg)).toEqual([]);
});

test("schema drift: each dialect's schema and its committed migrations agree", async () => {
  for (const drift of await extensionMigrationDrift(join(import.meta.dir, ".."))) {
    const { dialect, code, errors, clean } = drift;
    expect({ dialect, code, errors, clean }).toEqual({ dialect, code: 0, errors: "", clean: true });
  }
}, 60_000);
