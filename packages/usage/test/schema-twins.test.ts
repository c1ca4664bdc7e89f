import { expect, test } from "bun:test";
import { join } from "node:path";
import { extensionMigrationDrift, schemaTwinDifferences } from "@dispatch/conversation-store/testing";
import * as pg from "../src/pg-schema.ts";
import * as lite from "../src/schema.ts";

// The ledger is written once against the SQLite typing and runs on either schema
// (dialectDatabase), which is sound only while the twins agree.

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const rowsAgree: [
  Equal<typeof pg.calls.$inferSelect, typeof lite.calls.$inferSelect>,
  Equal<typeof pg.daily.$inferSelect, typeof lite.daily.$inferSelect>,
  Equal<typeof pg.reservations.$inferSelect, typeof lite.reservations.$inferSelect>,
  Equal<typeof pg.calls.$inferInsert, typeof lite.calls.$inferInsert>,
  Equal<typeof pg.reservations.$inferInsert, typeof lite.reservations.$inferInsert>,
] = [true, true, true, true, true];

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
