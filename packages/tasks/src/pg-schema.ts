import { sql } from "drizzle-orm";
import { bigint, index, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";

// The Postgres twin of schema.ts (epoch-ms times as bigint); the queue uses either through the same
// code, so the two must stay column for column alike (test/schema-twins.test.ts checks the rows).
// `bun x drizzle-kit generate --config drizzle.postgres.config.ts --name <what_changed>`.

const epochMs = (name: string) => bigint(name, { mode: "number" });

/** Tasks (see schema.ts). */
export const tasks = pgTable(
  "tasks_tasks",
  {
    id: text("id").primaryKey(),
    seq: integer("seq").notNull(),
    workspaceId: text("workspace_id").notNull(),
    title: text("title").notNull(),
    spec: text("spec").notNull(),
    status: text("status").notNull(),
    priority: integer("priority").notNull(),
    rank: integer("rank").notNull(),
    attempt: integer("attempt").notNull(),
    maxAttempts: integer("max_attempts").notNull(),
    options: text("options").notNull(),
    claimDay: text("claim_day"),
    nextRunAt: epochMs("next_run_at").notNull(),
    conversationId: text("conversation_id"),
    instanceId: text("instance_id"),
    lastError: text("last_error"),
    result: text("result"),
    createdAt: epochMs("created_at").notNull(),
    updatedAt: epochMs("updated_at").notNull(),
  },
  (t) => [
    index("tasks_tasks_claim_idx")
      .on(t.rank, t.priority.desc(), t.createdAt, t.seq)
      .where(sql`${t.status} in ('queued', 'stuck')`),
    index("tasks_tasks_aged_idx").on(t.rank, t.createdAt).where(sql`${t.status} in ('queued', 'stuck')`),
    index("tasks_tasks_status_idx").on(t.status, t.seq),
    index("tasks_tasks_workspace_idx").on(t.workspaceId, t.seq),
    index("tasks_tasks_instance_idx").on(t.instanceId).where(sql`${t.status} = 'running'`),
  ],
);

/** One row per attempt. */
export const attempts = pgTable(
  "tasks_attempts",
  {
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
    n: integer("n").notNull(),
    conversationId: text("conversation_id"),
    turnId: text("turn_id"),
    status: text("status").notNull(),
    startedAt: epochMs("started_at").notNull(),
    endedAt: epochMs("ended_at"),
    error: text("error"),
  },
  (t) => [
    primaryKey({ columns: [t.taskId, t.n] }),
    index("tasks_attempts_started_idx").on(t.startedAt),
    index("tasks_attempts_turn_idx").on(t.turnId),
  ],
);

/** The daily budget, one counter row per day. */
export const days = pgTable("tasks_days", {
  day: text("day").primaryKey(),
  attempts: integer("attempts").notNull(),
  tokens: bigint("tokens", { mode: "number" }).notNull(),
});

/** A workspace's run of failed attempts. */
export const breakers = pgTable("tasks_breakers", {
  workspaceId: text("workspace_id").primaryKey(),
  failures: integer("failures").notNull(),
  openUntil: epochMs("open_until"),
});

/** The single row every claim (on any host) locks first, with the time of the last start. */
export const claimLock = pgTable("tasks_claim_lock", {
  id: integer("id").primaryKey(),
  lastStartedAt: epochMs("last_started_at"),
});
