import { getTableName, is } from "drizzle-orm";
import { PgTable } from "drizzle-orm/pg-core";
import { SQLiteTable } from "drizzle-orm/sqlite-core";
import { drizzle } from "drizzle-orm/sqlite-proxy";
import { coreTables } from "./schema-ownership.ts";
import type { StoreDatabase } from "./store-database.ts";
import { StoreError } from "./store-error.ts";
import type { ExtensionDatabase } from "./types.ts";

/**
 * A drizzle handle on the store's own connection, typed for an extension's `schema`. It is drizzle's
 * async SQLite API (every query is awaited, as on Postgres), so each statement can wait its turn:
 * inside a `store.transaction` it joins it; outside, it waits for another context's transaction.
 */
export function extensionDatabase<S extends Record<string, unknown>>(
  db: StoreDatabase,
  schema: S,
): ExtensionDatabase<S> {
  checkTables(db, schema);
  const handle = drizzle(
    (sql, params, method) => db.execute(sql, params, method),
    (batch) => db.executeBatch(batch),
    { schema },
  );
  // drizzle's own transaction would send BEGIN through the callback, which the store refuses (its
  // queries would otherwise be a transaction the store does not know of); say so plainly instead.
  // The schema holds no pg-core table (checked above), so the handle is the SQLite one.
  return Object.assign(handle, {
    transaction: async (): Promise<never> => {
      throw new StoreError(
        "invalid_request",
        "an extension's database handle does not open transactions: use store.transaction(fn), which spans core and extension tables",
      );
    },
  }) as unknown as ExtensionDatabase<S>;
}

/** Refuses a schema with a core table (use the repositories) or a table no migration created. */
function checkTables(db: StoreDatabase, schema: Record<string, unknown>): void {
  const present = new Set(
    db.sqlite
      .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
      .all()
      .map((row) => row.name),
  );
  for (const value of Object.values(schema)) {
    if (is(value, PgTable)) {
      throw new StoreError(
        "invalid_request",
        `table "${getTableName(value)}" is a Postgres table, but this store is on SQLite: pass the extension's sqlite-core schema`,
        { details: { table: getTableName(value) } },
      );
    }
    if (!is(value, SQLiteTable)) continue;
    const name = getTableName(value);
    if (coreTables.includes(name)) {
      throw new StoreError(
        "invalid_request",
        `table "${name}" belongs to the core store: use its repositories (store.${name}), not a drizzle handle`,
        { details: { table: name } },
      );
    }
    if (!present.has(name)) {
      throw new StoreError(
        "not_found",
        `table "${name}" is not in the database: contribute the migrations that create it through storeSchemasPoint in the extension's register()`,
        { details: { table: name } },
      );
    }
  }
}
