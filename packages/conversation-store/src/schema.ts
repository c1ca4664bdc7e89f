import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

// Times are epoch milliseconds (integers); the repositories render them as ISO-8601 strings.
// Changing this file means generating a migration: see README.md.

/** SQL list of the statuses a turn can still leave; shared by the partial index and the queries. */
export const unfinishedStatusesSql = sql.raw("('queued', 'waiting', 'running')");

/** Workspaces: a root directory (local, or on `host_id`) that conversations work in. */
export const workspaces = sqliteTable("workspaces", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  root: text("root").notNull(),
  hostId: text("host_id"),
  // Added by migration 0001: databases from before it read every workspace as not starred.
  starred: integer("starred", { mode: "boolean" }).notNull().default(false),
  // Added by migration 0004 (issue 20): null = the host's `tools.network`; rules as a JSON object.
  network: integer("network", { mode: "boolean" }),
  permissions: text("permissions").notNull().default("{}"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Conversations belong to one workspace and go with it. */
export const conversations = sqliteTable(
  "conversations",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    title: text("title"),
    provider: text("provider").notNull(),
    model: text("model").notNull(),
    // Added by migration 0002: conversations from before it ran the built-in loop.
    runner: text("runner").notNull().default("model"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("conversations_workspace_idx").on(t.workspaceId, t.createdAt)],
);

/** Turns: one user prompt and everything the agent did for it. */
export const turns = sqliteTable(
  "turns",
  {
    id: text("id").primaryKey(),
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    status: text("status").notNull(),
    promptStartedAt: integer("prompt_started_at").notNull(),
    error: text("error"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("turns_conversation_idx").on(t.conversationId, t.createdAt),
    // Belt and braces for `turns.claim`: the database itself refuses a second unfinished turn.
    uniqueIndex("turns_one_unfinished_idx")
      .on(t.conversationId)
      .where(sql`${t.status} in ${unfinishedStatusesSql}`),
    check(
      "turns_status_check",
      sql`${t.status} in ('queued', 'waiting', 'running', 'completed', 'failed', 'cancelled', 'interrupted')`,
    ),
  ],
);

/** Messages; `parts` is a JSON array of MessagePart. */
export const messages = sqliteTable(
  "messages",
  {
    id: text("id").primaryKey(),
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    turnId: text("turn_id").references(() => turns.id, { onDelete: "cascade" }),
    role: text("role").notNull(),
    parts: text("parts").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("messages_conversation_idx").on(t.conversationId, t.createdAt),
    index("messages_turn_idx").on(t.turnId),
    check("messages_role_check", sql`${t.role} in ('user', 'assistant', 'tool')`),
  ],
);

/**
 * The per-conversation event log. `turn_id` is deliberately not a foreign key: enforcing it would need an
 * index on every append (and a scan per deleted turn without one); the log goes with its conversation.
 */
export const events = sqliteTable(
  "events",
  {
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    type: text("type").notNull(),
    turnId: text("turn_id"),
    at: integer("at").notNull(),
    data: text("data").notNull(),
  },
  (t) => [primaryKey({ columns: [t.conversationId, t.seq] })],
);

/** File locks the workspace tools take for a turn. */
export const locks = sqliteTable(
  "locks",
  {
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    path: text("path").notNull(),
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    turnId: text("turn_id")
      .notNull()
      .references(() => turns.id, { onDelete: "cascade" }),
    acquiredAt: integer("acquired_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.path] }),
    index("locks_conversation_idx").on(t.conversationId),
    index("locks_turn_idx").on(t.turnId),
    index("locks_expires_idx").on(t.expiresAt),
  ],
);

/**
 * Follow-up messages posted with `queue: true` while a turn ran (migration 0003): each starts the
 * next turn of its conversation, in `seq` order, and survives a restart until it does.
 */
export const queuedMessages = sqliteTable(
  "queued_messages",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    id: text("id").notNull().unique(),
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    text: text("text").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("queued_messages_conversation_idx").on(t.conversationId, t.seq)],
);
