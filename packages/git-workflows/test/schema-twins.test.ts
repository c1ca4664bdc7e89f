import { expect, test } from "bun:test";
import { join } from "node:path";
import { extensionMigrationDrift, schemaTwinDifferences } from "@dispatch/conversation-store/testing";
import * as pg from "../src/pg-schema.ts";
import * as lite from "../src/schema.ts";

// WorktreeStore is written once against the SQLite typing and runs on either schema
// (dialectDatabase), which is sound only while the twins agree.

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const rowsAgree: [
  Equal<typeof pg.worktrees.$inferSelect, typeof lite.worktrees.$inferSelect>,
  Equal<typeof pg.bindings.$inferSelect, typeof lite.bindings.$inferSelect>,
  Equal<typeof pg.worktrees.$inferInsert, typeof lite.worktrees.$inferInsert>,
  Equal<typeof pg.bindings.$inferInsert, typeof lite.bindings.$inferInsert>,
] = [true, true, true, true];

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
