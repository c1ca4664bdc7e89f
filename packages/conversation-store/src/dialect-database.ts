import type { ConversationStore, ExtensionDatabase, StoreDialect } from "./types.ts";

/**
 * An extension's tables on the store's dialect, typed once. Extensions with both dialects keep a
 * sqlite-core schema and its pg-core twin (same tables, same columns under the same keys, same row
 * types: check them with `schemaTwinDifferences` from `@dispatch/conversation-store/testing` and a
 * type test); their queries are then written once against the SQLite typing, since drizzle's query
 * builders take the same calls in both dialects.
 */
export interface DialectDatabase<S extends Record<string, unknown>> {
  readonly dialect: StoreDialect;
  /** The store's handle for the dialect's schema, typed as the SQLite one's. */
  readonly db: ExtensionDatabase<S>;
  /** The dialect's tables (the pg-core twins on Postgres), typed as the SQLite ones. */
  readonly tables: S;
}

/** The handle and tables of `store`'s dialect, from an extension's SQLite schema and its pg-core twin. */
export function dialectDatabase<S extends Record<string, unknown>>(
  store: Pick<ConversationStore, "database" | "dialect">,
  schemas: { sqlite: S; postgres: Record<string, unknown> },
): DialectDatabase<S> {
  if (store.dialect === "sqlite") {
    return { dialect: "sqlite", db: store.database(schemas.sqlite), tables: schemas.sqlite };
  }
  return {
    dialect: "postgres",
    // The twins have the same columns and row types (the caller's twin test holds that), and the
    // callers only use builder methods both dialects share, so the SQLite typing describes this
    // handle's results; anything dialect-specific (`for("update")`) is the caller's own cast.
    db: store.database(schemas.postgres) as unknown as ExtensionDatabase<S>,
    tables: schemas.postgres as unknown as S,
  };
}

/** A statement prepared once (`prepareStatement`), run with its placeholders' values. */
export type PreparedStatement<R> = (values: Record<string, unknown>) => Promise<R>;

/**
 * Prepares a query built on a `dialectDatabase` handle with `sql.placeholder`s, once, for a statement
 * run on every turn or model call: otherwise drizzle builds the query again at each call (~30 µs for a
 * one-table select, against ~1 µs prepared). On SQLite drizzle prepares it unnamed, on Postgres under
 * `name`; on both, `execute` runs it as its builder would (rows for a select or a `returning`).
 */
export function prepareStatement<R>(
  dialect: StoreDialect,
  name: string,
  builder: { prepare(name?: string): unknown },
): PreparedStatement<R> {
  const statement = builder.prepare(dialect === "sqlite" ? undefined : name) as {
    execute?: (values: Record<string, unknown>) => Promise<R>;
  };
  const { execute } = statement;
  if (execute === undefined) throw new Error(`drizzle statement ${name} has no execute`);
  return (values) => execute.call(statement, values);
}
