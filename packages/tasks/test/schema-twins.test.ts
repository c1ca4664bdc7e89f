import { expect, test } from "bun:test";
import { getTableColumns, getTableName, type Table } from "drizzle-orm";
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

function shape(table: Table): Record<string, string> {
  return Object.fromEntries(
    Object.entries(getTableColumns(table)).map(([key, column]) => [key, column.name]),
  );
}

test("the Postgres tables are the SQLite tables' twins: names, columns and row types", () => {
  expect(rowsAgree.every(Boolean)).toBe(true);
  expect(Object.keys(pg).sort()).toEqual(Object.keys(lite).sort());
  const pairs: Array<[Table, Table]> = [
    [pg.tasks, lite.tasks],
    [pg.attempts, lite.attempts],
    [pg.days, lite.days],
    [pg.breakers, lite.breakers],
    [pg.claimLock, lite.claimLock],
  ];
  expect(pairs.length).toBe(Object.keys(lite).length);
  for (const [twin, table] of pairs) {
    expect(getTableName(twin)).toBe(getTableName(table));
    expect(shape(twin)).toEqual(shape(table));
  }
});
