import type { Task, TaskStatus } from "@dispatch/wire";
import { and, asc, count, desc, eq, gt, inArray, lt, type SQL, sql } from "drizzle-orm";
import { isClaimable } from "./claim-statements.ts";
import { type AttemptRow, decodeCursor, encodeCursor, type TaskRow, toTask } from "./task-json.ts";
import type { TasksDatabase } from "./tasks-database.ts";
import type { StatusCounts } from "./types.ts";

// The queue's reads: what `GET /tasks`, `/metrics` and the scheduler look at. None of them writes.

/** Largest page of `GET /tasks`. */
export const maxPageSize = 500;

/** A task's attempts, in order. */
export async function attemptsOf({ db, tables }: TasksDatabase, taskId: string): Promise<AttemptRow[]> {
  const { attempts } = tables;
  return db.select().from(attempts).where(eq(attempts.taskId, taskId)).orderBy(asc(attempts.n));
}

/** A task with its attempts. */
export async function readTask(tasksDb: TasksDatabase, id: string): Promise<Task | undefined> {
  const { tasks } = tasksDb.tables;
  const [row] = await tasksDb.db.select().from(tasks).where(eq(tasks.id, id));
  if (row === undefined) return undefined;
  return toTask(row, await attemptsOf(tasksDb, id));
}

/** Newest first; `cursor` is the opaque `nextCursor` of the previous page. */
export async function listTasks(
  { db, tables }: TasksDatabase,
  filter: { status?: TaskStatus; workspaceId?: string; limit?: number; cursor?: string },
): Promise<{ tasks: Task[]; nextCursor: string | null }> {
  const { tasks, attempts } = tables;
  const limit = Math.min(Math.max(filter.limit ?? 100, 1), maxPageSize);
  const conditions: SQL[] = [];
  if (filter.status !== undefined) conditions.push(eq(tasks.status, filter.status));
  if (filter.workspaceId !== undefined) conditions.push(eq(tasks.workspaceId, filter.workspaceId));
  if (filter.cursor !== undefined) conditions.push(lt(tasks.seq, decodeCursor(filter.cursor)));
  const rows = await db
    .select()
    .from(tasks)
    .where(and(...conditions))
    .orderBy(desc(tasks.seq))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const ids = page.map((r) => r.id);
  const attemptRows =
    ids.length === 0 ? [] : await db.select().from(attempts).where(inArray(attempts.taskId, ids));
  const byTask = Map.groupBy(attemptRows, (a) => a.taskId);
  return {
    tasks: page.map((row) =>
      toTask(
        row,
        (byTask.get(row.id) ?? []).sort((a, b) => a.n - b.n),
      ),
    ),
    nextCursor: rows.length > limit && page.length > 0 ? encodeCursor((page.at(-1) as TaskRow).seq) : null,
  };
}

/** Workspaces whose breaker holds their queue back at `now`, until when. */
export async function openBreakers(
  { db, tables }: TasksDatabase,
  now: number,
): Promise<Array<{ workspaceId: string; failures: number; openUntil: number }>> {
  const { breakers } = tables;
  const rows = await db.select().from(breakers).where(gt(breakers.openUntil, now));
  return rows.map((r) => ({
    workspaceId: r.workspaceId,
    failures: r.failures,
    openUntil: r.openUntil ?? 0,
  }));
}

/** Tasks by status. */
export async function statusCounts({ db, tables }: TasksDatabase): Promise<StatusCounts> {
  const { tasks } = tables;
  const rows = await db.select({ status: tasks.status, n: count() }).from(tasks).groupBy(tasks.status);
  const out: StatusCounts = { queued: 0, running: 0, completed: 0, failed: 0, stuck: 0, cancelled: 0 };
  for (const row of rows) out[row.status as TaskStatus] = row.n;
  return out;
}

/** The budget row of `day`. */
export async function budgetUsed(
  { db, tables }: TasksDatabase,
  day: string,
): Promise<{ day: string; attempts: number; tokens: number }> {
  const { days } = tables;
  const [row] = await db.select().from(days).where(eq(days.day, day));
  return { day, attempts: row?.attempts ?? 0, tokens: row?.tokens ?? 0 };
}

/** The earliest `nextRunAt` of a claimable task, so the scheduler knows when to look again. */
export async function nextRunAt({ db, tables }: TasksDatabase): Promise<number | undefined> {
  const { tasks } = tables;
  const [row] = await db
    .select({ at: sql<number | null>`min(${tasks.nextRunAt})`.mapWith(Number) })
    .from(tasks)
    .where(isClaimable);
  return row?.at ?? undefined;
}
