import { getTableName, is } from "drizzle-orm";
import { PgTable } from "drizzle-orm/pg-core";
import { drizzle } from "drizzle-orm/pg-proxy";
import { SQLiteTable } from "drizzle-orm/sqlite-core";
import { coreTables } from "../schema-ownership.ts";
import { StoreError } from "../store-error.ts";
import type { ExtensionDatabase } from "../types.ts";
import type { PgStoreDatabase } from "./pg-database.ts";

// Statements that would take transaction control away from `store.transaction`.
const transactionControl = /^\s*(begin|commit|end|rollback|savepoint|release|start\s+transaction)\b/i;

/**
 * A drizzle handle (drizzle's pg-proxy driver: every query is awaited) on the store's pool,
 * typed for an extension's pg-core `schema`: inside `store.transaction` its statements run on that
 * transaction's connection, after the transaction's writes so far; outside, each runs on its own.
 */
export function pgExtensionDatabase<S extends Record<string, unknown>>(
  db: PgStoreDatabase,
  schema: S,
  present: ReadonlySet<string>,
): ExtensionDatabase<S> {
  checkTables(schema, present);
  const handle = drizzle(
    (sql, params, method) => {
      if (transactionControl.test(sql)) {
        throw new StoreError(
          "invalid_request",
          `an extension's database handle cannot run \`${sql.trim().split(/\s+/)[0]}\`: use store.transaction(fn) for a transaction`,
        );
      }
      return db.statement(async (q) => {
        const query = q.unsafe(sql, params);
        // "all" maps columns by position (arrays); "execute" returns the rows as they are
        const rows = method === "all" ? await query.values() : await query;
        return { rows: [...rows] };
      });
    },
    { schema },
  );
  return Object.assign(handle, {
    transaction: async (): Promise<never> => {
      throw new StoreError(
        "invalid_request",
        "an extension's database handle does not open transactions: use store.transaction(fn), which spans core and extension tables",
      );
    },
  }) as unknown as ExtensionDatabase<S>;
}

/** The tables and views of the store's schema (read once, after the migrations ran). */
export async function presentTables(db: PgStoreDatabase): Promise<Set<string>> {
  const rows = await db.q`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind in ('r', 'p', 'v', 'm')`;
  return new Set((rows as Array<{ name: string }>).map((row) => row.name));
}

/** Refuses a SQLite schema, a schema with a core table, or a table no migration created. */
function checkTables(schema: Record<string, unknown>, present: ReadonlySet<string>): void {
  for (const value of Object.values(schema)) {
    if (is(value, SQLiteTable)) {
      throw new StoreError(
        "invalid_request",
        `table "${getTableName(value)}" is a SQLite table, but this store is on PostgreSQL: pass the extension's pg-core schema (the one its Postgres migrations were generated from); an extension without Postgres migrations does not run on a Postgres store yet`,
        { details: { table: getTableName(value) } },
      );
    }
    if (!is(value, PgTable)) continue;
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
