import {
  type ConversationStore,
  type ExtensionDatabase,
  type PreparedStatement,
  prepareStatement,
} from "@dispatch/conversation-store";
import { eq, sql } from "drizzle-orm";
import type * as schema from "./schema.ts";

/** The writes every settled model call runs. */
export interface LedgerStatements {
  /** Deletes a reservation row by `id`. */
  readonly release: PreparedStatement<unknown>;
  /** Inserts a `usage_calls` row. */
  readonly recordCall: PreparedStatement<unknown>;
  /** Adds `tokens` to a `usage_daily` row by `scope` and `day`, creating it when missing. */
  readonly addDaily: PreparedStatement<unknown>;
}

/** Prepares the settle path's statements on the ledger's handle and tables. */
export function prepareLedgerStatements(
  db: ExtensionDatabase<typeof schema>,
  tables: typeof schema,
  dialect: ConversationStore["dialect"],
): LedgerStatements {
  const { calls, daily, reservations } = tables;
  const p = sql.placeholder;
  const prepared = (name: string, builder: { prepare(name?: string): unknown }) =>
    prepareStatement<unknown>(dialect, name, builder);
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
