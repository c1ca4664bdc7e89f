import { sql } from "drizzle-orm";
import { bigint, boolean, index, integer, pgTable, text } from "drizzle-orm/pg-core";

// The Postgres twin of schema.ts (epoch-ms times as bigint); WorktreeStore uses either through the
// same code, so the two must stay column for column alike (test/schema-twins.test.ts).
// `bun x drizzle-kit generate --config drizzle.postgres.config.ts --name <what_changed>`.

const epochMs = (name: string) => bigint(name, { mode: "number" });

/** Worktree rows with their hold and push state (see schema.ts). */
export const worktrees = pgTable(
  "git_workflows_worktrees",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id").notNull(),
    kind: text("kind", { enum: ["task", "conversation"] }).notNull(),
    title: text("title"),
    path: text("path").notNull(),
    branch: text("branch").notNull(),
    baseRef: text("base_ref").notNull(),
    baseSha: text("base_sha"),
    prefix: text("prefix").notNull().default(""),
    generation: integer("generation").notNull().default(0),
    state: text("state", { enum: ["new", "active", "removed"] }).notNull(),
    removeRequested: boolean("remove_requested").notNull().default(false),
    holderKind: text("holder_kind", { enum: ["task", "conversation", "cleanup"] }),
    holderId: text("holder_id"),
    holderAttempt: integer("holder_attempt"),
    holderConversationId: text("holder_conversation_id"),
    holderToken: text("holder_token"),
    holderSince: epochMs("holder_since"),
    holderInstance: text("holder_instance"),
    admitsTurn: boolean("admits_turn").notNull().default(false),
    commits: text("commits").notNull().default("[]"),
    pushStatus: text("push_status", { enum: ["pending", "pushed", "failed"] }),
    pushError: text("push_error"),
    pushAttempts: integer("push_attempts").notNull().default(0),
    nextPushAt: epochMs("next_push_at"),
    pushedSha: text("pushed_sha"),
    lastUsedAt: epochMs("last_used_at").notNull(),
    createdAt: epochMs("created_at").notNull(),
    updatedAt: epochMs("updated_at").notNull(),
  },
  (t) => [
    index("git_workflows_worktrees_push_idx").on(t.nextPushAt).where(sql`${t.pushStatus} = 'pending'`),
    index("git_workflows_worktrees_used_idx").on(t.lastUsedAt).where(sql`${t.state} = 'active'`),
    index("git_workflows_worktrees_workspace_idx").on(t.workspaceId),
    index("git_workflows_worktrees_instance_idx")
      .on(t.holderInstance)
      .where(sql`${t.holderToken} is not null`),
  ],
);

/** Which conversation runs in which worktree (see schema.ts). */
export const bindings = pgTable(
  "git_workflows_bindings",
  {
    conversationId: text("conversation_id").primaryKey(),
    worktreeId: text("worktree_id")
      .notNull()
      .references(() => worktrees.id, { onDelete: "cascade" }),
    attempt: integer("attempt"),
  },
  (t) => [index("git_workflows_bindings_worktree_idx").on(t.worktreeId)],
);
