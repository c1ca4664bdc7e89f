import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from "drizzle-orm/pg-core";

// The Postgres twin of ../schema.ts: the same tables, columns and indexes, with epoch-ms times as
// bigint. Two additions serve several hosts on one database: `conversations.last_seq` (appends take
// their seqs from it in one statement) and `turns.instance_id` (which host runs the turn, so a
// survivor can recover the turns of a dead one). Changing this file means generating a migration:
// `bun x drizzle-kit generate --config drizzle.postgres.config.ts --name <what_changed>`.

const epochMs = (name: string) => bigint(name, { mode: "number" });

/** SQL list of the statuses a turn can still leave (the same as the SQLite schema's). */
export const unfinishedStatusesSql = sql.raw("('queued', 'waiting', 'running')");

/** Workspaces. */
export const workspaces = pgTable("workspaces", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  root: text("root").notNull(),
  hostId: text("host_id"),
  starred: boolean("starred").notNull().default(false),
  // Added by migration 0001 (issue 20): null = the host's `tools.network`; rules as a JSON object.
  network: boolean("network"),
  permissions: text("permissions").notNull().default("{}"),
  createdAt: epochMs("created_at").notNull(),
  updatedAt: epochMs("updated_at").notNull(),
});

/** Conversations; `last_seq` is the highest event seq, moved by every append. */
export const conversations = pgTable(
  "conversations",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    title: text("title"),
    provider: text("provider").notNull(),
    model: text("model").notNull(),
    runner: text("runner").notNull().default("model"),
    lastSeq: integer("last_seq").notNull().default(0),
    createdAt: epochMs("created_at").notNull(),
    updatedAt: epochMs("updated_at").notNull(),
  },
  (t) => [index("conversations_workspace_idx").on(t.workspaceId, t.createdAt)],
);

/** Turns; `instance_id` is the store instance (host process) that claimed it. */
export const turns = pgTable(
  "turns",
  {
    id: text("id").primaryKey(),
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    status: text("status").notNull(),
    promptStartedAt: epochMs("prompt_started_at").notNull(),
    error: text("error"),
    instanceId: text("instance_id"),
    createdAt: epochMs("created_at").notNull(),
    updatedAt: epochMs("updated_at").notNull(),
  },
  (t) => [
    index("turns_conversation_idx").on(t.conversationId, t.createdAt),
    uniqueIndex("turns_one_unfinished_idx")
      .on(t.conversationId)
      .where(sql`${t.status} in ('queued', 'waiting', 'running')`),
    index("turns_unfinished_instance_idx")
      .on(t.instanceId)
      .where(sql`${t.status} in ('queued', 'waiting', 'running')`),
    check(
      "turns_status_check",
      sql`${t.status} in ('queued', 'waiting', 'running', 'completed', 'failed', 'cancelled', 'interrupted')`,
    ),
  ],
);

/**
 * Messages; `parts` is a JSON array of MessagePart, as text. `seq` is insertion order (SQLite's
 * `rowid`): within a millisecond it orders the list, since a follow-up's message keeps the id it was
 * queued with, which is older than the answer stored just before it.
 */
export const messages = pgTable(
  "messages",
  {
    id: text("id").primaryKey(),
    seq: bigint("seq", { mode: "number" }).notNull().generatedAlwaysAsIdentity(),
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    turnId: text("turn_id").references(() => turns.id, { onDelete: "cascade" }),
    role: text("role").notNull(),
    parts: text("parts").notNull(),
    createdAt: epochMs("created_at").notNull(),
  },
  (t) => [
    index("messages_conversation_idx").on(t.conversationId, t.createdAt, t.seq),
    index("messages_turn_idx").on(t.turnId),
    check("messages_role_check", sql`${t.role} in ('user', 'assistant', 'tool')`),
  ],
);

/** The per-conversation event log (`turn_id` is not a foreign key, as in SQLite). */
export const events = pgTable(
  "events",
  {
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    type: text("type").notNull(),
    turnId: text("turn_id"),
    at: epochMs("at").notNull(),
    data: text("data").notNull(),
  },
  (t) => [primaryKey({ columns: [t.conversationId, t.seq] })],
);

/** File locks the workspace tools take for a turn. */
export const locks = pgTable(
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
    acquiredAt: epochMs("acquired_at").notNull(),
    expiresAt: epochMs("expires_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.path] }),
    index("locks_conversation_idx").on(t.conversationId),
    index("locks_turn_idx").on(t.turnId),
    index("locks_expires_idx").on(t.expiresAt),
  ],
);

/** Follow-up messages posted with `queue: true`, taken in `seq` order. */
export const queuedMessages = pgTable(
  "queued_messages",
  {
    seq: bigint("seq", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    id: text("id").notNull().unique(),
    conversationId: text("conversation_id")
      .notNull()
      .references(() => conversations.id, { onDelete: "cascade" }),
    text: text("text").notNull(),
    createdAt: epochMs("created_at").notNull(),
  },
  (t) => [index("queued_messages_conversation_idx").on(t.conversationId, t.seq)],
);
