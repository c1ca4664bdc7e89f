import type { ConversationStore, ExtensionDatabase } from "@dispatch/conversation-store";
import { eq, sql } from "drizzle-orm";
import type * as schema from "./schema.ts";

/** A statement prepared once, run with its placeholders' values. */
export type Prepared = (values: Record<string, unknown>) => Promise<unknown>;

/** What a prepared builder is on each dialect (the handle is typed as SQLite's; see `prepared`). */
interface PreparableBuilder {
  prepare(name?: string): {
    run?(values: Record<string, unknown>): Promise<unknown>;
    execute?(values: Record<string, unknown>): Promise<unknown>;
  };
}

/** The writes every settled model call runs. */
export interface LedgerStatements {
  /** Deletes a reservation row by `id`. */
  readonly release: Prepared;
  /** Inserts a `usage_calls` row. */
  readonly recordCall: Prepared;
  /** Adds `tokens` to a `usage_daily` row by `scope` and `day`, creating it when missing. */
  readonly addDaily: Prepared;
}

/** Prepares the settle path's statements on the ledger's handle and tables. */
export function prepareLedgerStatements(
  db: ExtensionDatabase<typeof schema>,
  tables: typeof schema,
  dialect: ConversationStore["dialect"],
): LedgerStatements {
  const { calls, daily, reservations } = tables;
  const p = sql.placeholder;
  const prepared = (name: string, builder: unknown): Prepared => {
    // drizzle prepares a SQLite statement unnamed and runs it with `run`; a Postgres one is named
    // and runs with `execute` (the pg-proxy driver sends its SQL and parameters each time)
    const statement = (builder as PreparableBuilder).prepare(dialect === "sqlite" ? undefined : name);
    const run = statement.run ?? statement.execute;
    if (run === undefined) throw new Error(`drizzle statement ${name} has neither run nor execute`);
    return (values) => run.call(statement, values);
  };
  return {
    release: prepared("usage_release", db.delete(reservations).where(eq(reservations.id, p("id")))),
    recordCall: prepared(
      "usage_record_call",
      db.insert(calls).values({
        id: p("id"),
        turnId: p("turnId"),
        conversationId: p("conversationId"),
        workspaceId: p("workspaceId"),
        provider: p("provider"),
        model: p("model"),
        inputTokens: p("inputTokens"),
        outputTokens: p("outputTokens"),
        cachedInputTokens: p("cachedInputTokens"),
        estimated: p("estimated"),
        cost: p("cost"),
        at: p("at"),
        day: p("day"),
      }),
    ),
    addDaily: prepared(
      "usage_add_daily",
      db
        .insert(daily)
        .values({ scope: p("scope"), day: p("day"), tokens: p("tokens") })
        .onConflictDoUpdate({
          target: [daily.scope, daily.day],
          set: { tokens: sql`${daily.tokens} + ${p("tokens")}` },
        }),
    ),
  };
}
