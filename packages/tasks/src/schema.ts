import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

// src/pg-schema.ts is this file's Postgres twin: the same tables and columns (a type test holds their
// rows equal), so the queue is written once. Changing one means changing both and generating each
// dialect's migration (see README.md).

/**
 * Tasks. `rank` is 0 for a task of a starred workspace or one waiting longer than `agingMs`, else 1:
 * the first key of the claim order, kept in the row so that the claim walks one index instead of
 * joining every queued row to its workspace and comparing its age. Stars move it through the bus;
 * aging moves it inside each claim (only rows that aged since the last claim are touched).
 */
export const tasks = sqliteTable(
  "tasks_tasks",
  {
    id: text("id").primaryKey(),
    /** Arrival order, the last tie-break of the claim order. */
    seq: integer("seq").notNull(),
    workspaceId: text("workspace_id").notNull(),
    title: text("title").notNull(),
    spec: text("spec").notNull(),
    status: text("status").notNull(),
    priority: integer("priority").notNull(),
    rank: integer("rank").notNull(),
    attempt: integer("attempt").notNull(),
    maxAttempts: integer("max_attempts").notNull(),
    /** Options of each attempt's conversation and turn: runner, provider, model, maxSteps, worktree, validate. */
    options: text("options").notNull(),
    /** The budget day (in `tasks.timeZone`) of the last claim; the claim trigger counts it there. */
    claimDay: text("claim_day"),
    /** Epoch ms; a queued task is not claimed before it. */
    nextRunAt: integer("next_run_at").notNull(),
    conversationId: text("conversation_id"),
    /** The store instance (host process) running the current attempt; a survivor requeues a dead one's (migration 0002). */
    instanceId: text("instance_id"),
    lastError: text("last_error"),
    result: text("result"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("tasks_tasks_claim_idx")
      .on(t.rank, sql`${t.priority} desc`, t.createdAt, t.seq)
      .where(sql`${t.status} in ('queued', 'stuck')`),
    index("tasks_tasks_aged_idx").on(t.rank, t.createdAt).where(sql`${t.status} in ('queued', 'stuck')`),
    index("tasks_tasks_status_idx").on(t.status, t.seq),
    index("tasks_tasks_workspace_idx").on(t.workspaceId, t.seq),
    index("tasks_tasks_instance_idx").on(t.instanceId).where(sql`${t.status} = 'running'`),
  ],
);

/** One row per attempt: a headless conversation and its turn. */
export const attempts = sqliteTable(
  "tasks_attempts",
  {
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
    n: integer("n").notNull(),
    conversationId: text("conversation_id"),
    turnId: text("turn_id"),
    status: text("status").notNull(),
    startedAt: integer("started_at").notNull(),
    endedAt: integer("ended_at"),
    error: text("error"),
  },
  (t) => [
    primaryKey({ columns: [t.taskId, t.n] }),
    index("tasks_attempts_started_idx").on(t.startedAt),
    index("tasks_attempts_turn_idx").on(t.turnId),
  ],
);

/**
 * The daily budget: one counter row per day (in `tasks.timeZone`), created by the claim that first
 * needs it, so there is no reset step that could clobber a count.
 */
export const days = sqliteTable("tasks_days", {
  day: text("day").primaryKey(),
  attempts: integer("attempts").notNull(),
  tokens: integer("tokens").notNull(),
});

/** A workspace's run of failed attempts; open (`openUntil` in the future) holds its queued tasks back. */
export const breakers = sqliteTable("tasks_breakers", {
  workspaceId: text("workspace_id").primaryKey(),
  failures: integer("failures").notNull(),
  openUntil: integer("open_until"),
});

/** The single row that serialises claims across processes and holds the time of the last start. */
export const claimLock = sqliteTable("tasks_claim_lock", {
  id: integer("id").primaryKey(),
  lastStartedAt: integer("last_started_at"),
});
