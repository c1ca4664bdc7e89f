import { asc, eq, getTableColumns, sql } from "drizzle-orm";
import { conversations, messages, queuedMessages, turns, unfinishedStatusesSql } from "./schema.ts";
import type { StoreOrm } from "./store-database.ts";

const p = sql.placeholder;

/**
 * The queries a turn runs (claim, status changes, messages), prepared once per connection: drizzle
 * building a query took several times what SQLite takes to run it (notes/benchmarks.md, orchestrator).
 * Values in `set` are written as sql`${placeholder}` because drizzle's update types refuse a bare
 * placeholder there; such values skip column encoders, so callers pass what SQLite stores.
 */
export function prepareStatements(orm: StoreOrm) {
  // A status change applies only to a turn that is not final yet: no read before the UPDATE.
  const unfinishedTurn = sql`${turns.id} = ${p("id")} and ${turns.status} in ${unfinishedStatusesSql}`;
  return {
    conversationExists: orm
      .select({ id: conversations.id })
      .from(conversations)
      .where(eq(conversations.id, p("id")))
      .prepare(),
    touchConversation: orm
      .update(conversations)
      .set({ updatedAt: sql`${p("now")}` })
      .where(eq(conversations.id, p("id")))
      .prepare(),
    anyQueued: orm
      .select({ seq: queuedMessages.seq })
      .from(queuedMessages)
      .where(eq(queuedMessages.conversationId, p("conversationId")))
      .limit(1)
      .prepare(),
    turnById: orm
      .select()
      .from(turns)
      .where(eq(turns.id, p("id")))
      .prepare(),
    activeTurn: orm
      .select()
      .from(turns)
      .where(
        sql`${turns.conversationId} = ${p("conversationId")} and ${turns.status} in ${unfinishedStatusesSql}`,
      )
      .prepare(),
    insertTurn: orm
      .insert(turns)
      .values({
        id: p("id"),
        conversationId: p("conversationId"),
        status: "queued",
        promptStartedAt: p("promptStartedAt"),
        error: null,
        createdAt: p("now"),
        updatedAt: p("now"),
      })
      .returning()
      .prepare(),
    setTurnStatus: orm
      .update(turns)
      .set({ status: sql`${p("status")}`, updatedAt: sql`${p("now")}` })
      .where(unfinishedTurn)
      .returning()
      .prepare(),
    setTurnStatusAndError: orm
      .update(turns)
      .set({ status: sql`${p("status")}`, error: sql`${p("error")}`, updatedAt: sql`${p("now")}` })
      .where(unfinishedTurn)
      .returning()
      .prepare(),
    insertMessage: orm
      .insert(messages)
      .values({
        id: p("id"),
        conversationId: p("conversationId"),
        turnId: p("turnId"),
        role: p("role"),
        parts: p("parts"),
        createdAt: p("now"),
      })
      .prepare(),
    // Pages keep the order of a whole history's read (`SqliteMessageRepository.list`): created_at,
    // then insertion order within one millisecond, so the keyset is (created_at, rowid).
    firstMessagesOf: orm
      .select({ ...getTableColumns(messages), row: sql<number>`rowid` })
      .from(messages)
      .where(eq(messages.conversationId, p("conversationId")))
      .orderBy(asc(messages.createdAt), sql`rowid`)
      .limit(p("limit"))
      .prepare(),
    messagesOfAfter: orm
      .select({ ...getTableColumns(messages), row: sql<number>`rowid` })
      .from(messages)
      .where(
        sql`${messages.conversationId} = ${p("conversationId")} and (${messages.createdAt}, rowid) > (${p("createdAt")}, ${p("row")})`,
      )
      .orderBy(asc(messages.createdAt), sql`rowid`)
      .limit(p("limit"))
      .prepare(),
  };
}

/** The prepared statements of one connection. */
export type Statements = ReturnType<typeof prepareStatements>;
