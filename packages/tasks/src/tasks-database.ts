import {
  type ConversationStore,
  dialectDatabase,
  type ExtensionDatabase,
  type StoreDialect,
} from "@dispatch/conversation-store";
import * as pgSchema from "./pg-schema.ts";
import * as sqliteSchema from "./schema.ts";

/** The tables as the queue names them (the SQLite schema's typing; either dialect's tables at run time). */
export type TaskTables = typeof sqliteSchema;

/**
 * The queue's view of its tables: one drizzle handle and one set of tables, typed once. On SQLite
 * they are what they say; on Postgres they are the pg-core twins (src/pg-schema.ts), which have the
 * same columns and row types (test/schema-twins.test.ts), and drizzle's query builders take the same
 * calls in both dialects, so the queue's queries are written once. What differs is `forUpdate`.
 */
export interface TasksDatabase {
  readonly dialect: StoreDialect;
  readonly db: ExtensionDatabase<TaskTables>;
  readonly tables: TaskTables;
  /**
   * `query` with `FOR UPDATE` (and `SKIP LOCKED`) on Postgres: the rows it reads stay locked until
   * the transaction ends, so another host's claim waits for them (or skips them). On SQLite it is
   * `query` itself: the write transaction already holds the whole database.
   */
  forUpdate<Q>(query: Q, options?: { skipLocked?: boolean }): Q;
}

interface LockableSelect {
  for(strength: "update", config?: { skipLocked?: boolean }): unknown;
}

/** The handle and tables of the store's dialect. */
export function tasksDatabase(store: Pick<ConversationStore, "database" | "dialect">): TasksDatabase {
  const { dialect, db, tables } = dialectDatabase(store, { sqlite: sqliteSchema, postgres: pgSchema });
  return {
    dialect,
    db,
    tables,
    forUpdate:
      dialect === "sqlite"
        ? (query) => query
        : // A pg select builder has `for`; the queue only passes its selects here.
          (query, options) =>
            (query as unknown as LockableSelect).for(
              "update",
              options?.skipLocked ? { skipLocked: true } : {},
            ) as typeof query,
  };
}
