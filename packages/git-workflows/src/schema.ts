import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

// src/pg-schema.ts is this file's Postgres twin: the same tables and columns (test/schema-twins.test.ts
// holds their rows equal), so WorktreeStore is written once. Changing one means changing both and
// generating each dialect's migration (drizzle.config.ts, drizzle.postgres.config.ts).

/**
 * One row per task or conversation that asked for a worktree. The hold (who runs in it now) lives
 * on the row itself, so "who holds worktree X" and "take X if free" are one primary-key lookup and
 * one conditional update, never a scan.
 */
export const worktrees = sqliteTable(
  "git_workflows_worktrees",
  {
    /** The task or conversation id; the last part of the path and the branch. */
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").notNull(),
    kind: text("kind", { enum: ["task", "conversation"] }).notNull(),
    /** Task title or conversation title: the subject of its commits. */
    title: text("title"),
    /** Absolute, on the workspace's machine. */
    path: text("path").notNull(),
    branch: text("branch").notNull(),
    baseRef: text("base_ref").notNull(),
    baseSha: text("base_sha"),
    /** Where the workspace root sits inside its repository (`git rev-parse --show-prefix`). */
    prefix: text("prefix").notNull().default(""),
    /** Bumped each time the directory is (re)made: part of the tools' pin and lock key. */
    generation: integer("generation").notNull().default(0),
    /** `new`: not made yet; `active`: on disk (or vanished, made again at the next run); `removed`: after `retainMs`. */
    state: text("state", { enum: ["new", "active", "removed"] }).notNull(),
    /** Set when its task was deleted while the worktree was held: removed once free. */
    removeRequested: integer("remove_requested", { mode: "boolean" }).notNull().default(false),
    holderKind: text("holder_kind", { enum: ["task", "conversation", "cleanup"] }),
    holderId: text("holder_id"),
    holderAttempt: integer("holder_attempt"),
    holderConversationId: text("holder_conversation_id"),
    /** Random per hold: only the run that took the hold releases it. */
    holderToken: text("holder_token"),
    holderSince: integer("holder_since"),
    /** The store instance (host process) of the hold; a survivor frees a dead one's (migration 0001). */
    holderInstance: text("holder_instance"),
    /** A task hold lets exactly one turn of its attempt's conversation in. */
    admitsTurn: integer("admits_turn", { mode: "boolean" }).notNull().default(false),
    /** JSON array of `{sha, subject}`, oldest first. */
    commits: text("commits").notNull().default("[]"),
    pushStatus: text("push_status", { enum: ["pending", "pushed", "failed"] }),
    pushError: text("push_error"),
    pushAttempts: integer("push_attempts").notNull().default(0),
    nextPushAt: integer("next_push_at"),
    pushedSha: text("pushed_sha"),
    lastUsedAt: integer("last_used_at").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("git_workflows_worktrees_push_idx").on(t.nextPushAt).where(sql`${t.pushStatus} = 'pending'`),
    index("git_workflows_worktrees_used_idx").on(t.lastUsedAt).where(sql`${t.state} = 'active'`),
    index("git_workflows_worktrees_workspace_idx").on(t.workspaceId),
  ],
);

/**
 * Which conversation runs in which worktree: a conversation created with `worktree: true` in its
 * own, each attempt of a task in the task's. Looked up by conversation id before every turn.
 */
export const bindings = sqliteTable(
  "git_workflows_bindings",
  {
    conversationId: text("conversation_id").primaryKey(),
    worktreeId: text("worktree_id")
      .notNull()
      .references(() => worktrees.id, { onDelete: "cascade" }),
    /** The task attempt this conversation is, if any. */
    attempt: integer("attempt"),
  },
  (t) => [index("git_workflows_bindings_worktree_idx").on(t.worktreeId)],
);
