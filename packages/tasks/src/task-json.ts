import { DispatchError } from "@dispatch/kernel";
import type { Task, TaskAttempt, TaskStatus } from "@dispatch/wire";
import { claimable } from "./claim-statements.ts";
import type * as schema from "./schema.ts";

// A task's rows as the contract's Task JSON, and the opaque cursors of `GET /tasks`.

/** A `tasks` row. */
export type TaskRow = typeof schema.tasks.$inferSelect;
/** An `attempts` row. */
export type AttemptRow = typeof schema.attempts.$inferSelect;

/** A task's default title: the first line of its spec. */
export function titleFrom(spec: string): string {
  const line = spec.split("\n", 1)[0]?.trim() ?? "";
  return (line.length > 0 ? line : "task").slice(0, 200);
}

/** The cursor of the page after the task with `seq`. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`).toString("base64url");
}

/** The seq a cursor names; `invalid_request` for one this API did not give out. */
export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, "base64url").toString();
  const match = /^seq:(\d{1,15})$/.exec(text);
  if (match === null)
    throw new DispatchError("invalid_request", "cursor is not one this API gave out", {
      details: { field: "cursor" },
    });
  return Number(match[1]);
}

/** The attempts row the `tasks_tasks_claimed` trigger writes when a claim starts attempt 1 of `row`. */
export function firstAttempt(row: TaskRow): AttemptRow {
  return {
    taskId: row.id,
    n: 1,
    conversationId: null,
    turnId: null,
    status: "running",
    startedAt: row.updatedAt,
    endedAt: null,
    error: null,
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A task row and its attempt rows as Task JSON. */
export function toTask(row: TaskRow, rows: readonly AttemptRow[]): Task {
  const claimableNow = claimable.includes(row.status as TaskStatus);
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    title: row.title,
    spec: row.spec,
    status: row.status as TaskStatus,
    priority: row.priority,
    attempt: row.attempt,
    maxAttempts: row.maxAttempts,
    nextRunAt: claimableNow ? iso(row.nextRunAt) : null,
    conversationId: row.conversationId,
    lastError: row.lastError,
    result: row.result === null ? null : (JSON.parse(row.result) as Record<string, unknown>),
    attempts: rows.map(
      (a): TaskAttempt => ({
        n: a.n,
        conversationId: a.conversationId,
        turnId: a.turnId,
        status: a.status as TaskAttempt["status"],
        startedAt: iso(a.startedAt) as string,
        endedAt: iso(a.endedAt),
        error: a.error,
      }),
    ),
    createdAt: iso(row.createdAt) as string,
    updatedAt: iso(row.updatedAt) as string,
  };
}
