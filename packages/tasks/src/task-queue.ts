import type { ConversationStore, StoreTransaction } from "@dispatch/conversation-store";
import { DispatchError } from "@dispatch/kernel";
import type { Task, TaskAttempt, TaskStatus } from "@dispatch/wire";
import { and, asc, count, desc, eq, gt, inArray, lt, lte, notInArray, type SQL, sql } from "drizzle-orm";
import type { TasksConfig } from "./config.ts";
import { dayKey } from "./day-key.ts";
import { type AttemptFailure, backoffMs } from "./retry-policy.ts";
import type { attempts as attemptsTable, tasks as tasksTable } from "./schema.ts";
import { type TasksDatabase, tasksDatabase } from "./tasks-database.ts";
import type { ClaimedTask, ClaimRefusal, StatusCounts, TaskChange, TaskOptions } from "./types.ts";

type TaskRow = typeof tasksTable.$inferSelect;
type AttemptRow = typeof attemptsTable.$inferSelect;

/** Statuses the claim may pick: waiting to run, or waiting to retry after a stuck attempt. */
const claimable: TaskStatus[] = ["queued", "stuck"];
/** Statuses a task never leaves on its own. */
const finalStatuses: TaskStatus[] = ["completed", "failed", "cancelled"];
/** Largest page of `GET /tasks`. */
export const maxPageSize = 500;

/** What `create` takes (already validated at the edge). */
export interface NewTask {
  workspaceId: string;
  spec: string;
  title?: string;
  priority?: number;
  maxAttempts?: number;
  options: TaskOptions;
}

/** What the queue needs. */
export interface TaskQueueDeps {
  store: Pick<ConversationStore, "transaction" | "database" | "workspaces" | "dialect" | "instanceId">;
  config: TasksConfig;
  /** Epoch ms (tests move it, midnight included). */
  clock: () => number;
}

/**
 * The durable task queue (DESIGN §12). Every limit is enforced by the claim itself, inside one
 * write transaction: the running count, the cooldown since the last start and the day's budget row
 * are read and moved together, so two claimers (two processes on one file, or two hosts on one
 * Postgres database) cannot both pass a limit. On Postgres the claim first locks the queue's one
 * lock row (`FOR UPDATE`), which serialises claims and creates across hosts, and takes its
 * candidate with `FOR UPDATE SKIP LOCKED`, so a task being cancelled or retried elsewhere is passed
 * over rather than waited for.
 */
export class TaskQueue {
  readonly #tasks: TasksDatabase;
  readonly #store: TaskQueueDeps["store"];
  readonly #config: TasksConfig;
  readonly #clock: () => number;

  constructor(deps: TaskQueueDeps) {
    this.#store = deps.store;
    this.#tasks = tasksDatabase(deps.store);
    this.#config = deps.config;
    this.#clock = deps.clock;
  }

  get #db() {
    return this.#tasks.db;
  }

  /** Queues a task; `queue_full` past `maxQueued`, `not_found` for a missing workspace. */
  async create(input: NewTask): Promise<Task> {
    const { tasks } = this.#tasks.tables;
    const workspace = await this.#store.workspaces.get(input.workspaceId);
    if (workspace === undefined) {
      throw new DispatchError("not_found", `workspace "${input.workspaceId}" does not exist`);
    }
    const id = `tk_${Bun.randomUUIDv7()}`;
    await this.#store.transaction(async (tx) => {
      const db = this.#db;
      // the queue's lock row: the count and the next seq below are exact across hosts
      await this.#lockQueue();
      const [waiting] = await db.select({ n: count() }).from(tasks).where(inArray(tasks.status, claimable));
      if ((waiting?.n ?? 0) >= this.#config.maxQueued) {
        throw new DispatchError(
          "queue_full",
          `the task queue is full (${this.#config.maxQueued} waiting, tasks.maxQueued); retry later`,
        );
      }
      const [last] = await db
        .select({ seq: sql<number>`coalesce(max(${tasks.seq}), 0)`.mapWith(Number) })
        .from(tasks);
      const now = this.#clock();
      await db.insert(tasks).values({
        id,
        seq: (last?.seq ?? 0) + 1,
        workspaceId: input.workspaceId,
        title: input.title ?? titleFrom(input.spec),
        spec: input.spec,
        status: "queued",
        priority: input.priority ?? 0,
        starred: workspace.starred,
        attempt: 0,
        maxAttempts: input.maxAttempts ?? this.#config.maxAttempts,
        options: JSON.stringify(input.options),
        nextRunAt: now,
        createdAt: now,
        updatedAt: now,
      });
      await this.#changed(tx, id, "created");
    });
    return (await this.get(id)) as Task;
  }

  /** A task with its attempts. */
  async get(id: string): Promise<Task | undefined> {
    const { tasks, attempts } = this.#tasks.tables;
    const [row] = await this.#db.select().from(tasks).where(eq(tasks.id, id));
    if (row === undefined) return undefined;
    const rows = await this.#db
      .select()
      .from(attempts)
      .where(eq(attempts.taskId, id))
      .orderBy(asc(attempts.n));
    return toTask(row, rows);
  }

  /** Newest first; `cursor` is the opaque `nextCursor` of the previous page. */
  async list(filter: {
    status?: TaskStatus;
    workspaceId?: string;
    limit?: number;
    cursor?: string;
  }): Promise<{ tasks: Task[]; nextCursor: string | null }> {
    const { tasks, attempts } = this.#tasks.tables;
    const limit = Math.min(Math.max(filter.limit ?? 100, 1), maxPageSize);
    const conditions: SQL[] = [];
    if (filter.status !== undefined) conditions.push(eq(tasks.status, filter.status));
    if (filter.workspaceId !== undefined) conditions.push(eq(tasks.workspaceId, filter.workspaceId));
    if (filter.cursor !== undefined) conditions.push(lt(tasks.seq, decodeCursor(filter.cursor)));
    const rows = await this.#db
      .select()
      .from(tasks)
      .where(and(...conditions))
      .orderBy(desc(tasks.seq))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const ids = page.map((r) => r.id);
    const attemptRows =
      ids.length === 0 ? [] : await this.#db.select().from(attempts).where(inArray(attempts.taskId, ids));
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

  /**
   * Starts the next task if every limit allows, in one transaction: order is starred (or aged) first,
   * then higher priority, then older, then arrival.
   */
  async claim(): Promise<ClaimedTask | ClaimRefusal> {
    const { tasks, attempts, days, claimLock } = this.#tasks.tables;
    return this.#store.transaction(async (tx) => {
      const db = this.#db;
      const now = this.#clock();
      const config = this.#config;
      const lock = await this.#lockQueue();
      const [running] = await db.select({ n: count() }).from(tasks).where(eq(tasks.status, "running"));
      if ((running?.n ?? 0) >= config.maxRunning) return { reason: "max_running" } as const;
      const lastStart = lock?.lastStartedAt ?? null;
      if (lastStart !== null && now - lastStart < config.cooldownMs) {
        return { reason: "cooldown", until: lastStart + config.cooldownMs } as const;
      }
      const day = dayKey(now, config.timeZone);
      const [used] = await db.select().from(days).where(eq(days.day, day));
      const budget = config.dailyBudget;
      if (
        (budget.attempts !== undefined && (used?.attempts ?? 0) >= budget.attempts) ||
        (budget.tokens !== undefined && (used?.tokens ?? 0) >= budget.tokens)
      ) {
        return { reason: "budget", until: nextDayStart(now, config.timeZone) } as const;
      }
      const row = await this.#nextCandidate(now);
      if (row === undefined) return { reason: "empty" } as const;
      const n = row.attempt + 1;
      await db
        .update(tasks)
        .set({
          status: "running",
          attempt: n,
          conversationId: null,
          instanceId: this.#store.instanceId,
          updatedAt: now,
        })
        .where(eq(tasks.id, row.id));
      await db.insert(attempts).values({ taskId: row.id, n, status: "running", startedAt: now });
      await db.update(claimLock).set({ lastStartedAt: now }).where(eq(claimLock.id, 1));
      await db
        .insert(days)
        .values({ day, attempts: 1, tokens: 0 })
        .onConflictDoUpdate({ target: days.day, set: { attempts: sql`${days.attempts} + 1` } });
      await this.#changed(tx, row.id, "started");
      return {
        id: row.id,
        workspaceId: row.workspaceId,
        title: row.title,
        spec: row.spec,
        n,
        options: JSON.parse(row.options) as TaskOptions,
      };
    });
  }

  /** Records the conversation and turn of a running attempt. */
  async attach(taskId: string, n: number, ids: { conversationId: string; turnId?: string }): Promise<void> {
    const { tasks, attempts } = this.#tasks.tables;
    await this.#store.transaction(async () => {
      await this.#db
        .update(attempts)
        .set({ conversationId: ids.conversationId, turnId: ids.turnId ?? null })
        .where(and(eq(attempts.taskId, taskId), eq(attempts.n, n)));
      await this.#db
        .update(tasks)
        .set({ conversationId: ids.conversationId, updatedAt: this.#clock() })
        .where(eq(tasks.id, taskId));
    });
  }

  /** Attempt `n` completed: the task is done. Tokens count against the day's budget. */
  async complete(taskId: string, n: number, result: Record<string, unknown>, tokens = 0): Promise<void> {
    const { tasks, breakers } = this.#tasks.tables;
    await this.#store.transaction(async (tx) => {
      if (!(await this.#endAttempt(taskId, n, "completed", null, tokens))) return;
      await this.#db
        .update(tasks)
        .set({
          status: "completed",
          result: JSON.stringify(result),
          lastError: null,
          updatedAt: this.#clock(),
        })
        .where(eq(tasks.id, taskId));
      await this.#db.delete(breakers).where(eq(breakers.workspaceId, await this.#workspaceOf(taskId)));
      await this.#changed(tx, taskId, "completed");
    });
  }

  /**
   * Attempt `n` ended without completing: retried after the backoff when the failure is retryable and
   * attempts are left, otherwise final. A spent budget requeues for the next day without counting.
   * False when attempt `n` was no longer running (another path ended it first).
   */
  async fail(taskId: string, n: number, failure: AttemptFailure, tokens = 0): Promise<boolean> {
    const { tasks } = this.#tasks.tables;
    return this.#store.transaction(async (tx) => {
      if (!(await this.#endAttempt(taskId, n, failure.status, failure.message, tokens))) return false;
      const [row] = await this.#db.select().from(tasks).where(eq(tasks.id, taskId));
      if (row === undefined) return false;
      const now = this.#clock();
      const config = this.#config;
      let change: TaskChange;
      let set: Partial<TaskRow>;
      if (failure.budget) {
        // the attempt did not get to work: it is given back, and the task waits for tomorrow
        set = { status: "queued", attempt: row.attempt - 1, nextRunAt: nextDayStart(now, config.timeZone) };
        change = "requeued";
      } else if (failure.status === "cancelled") {
        set = { status: "cancelled" };
        change = "cancelled";
      } else if (failure.retryable && row.attempt < row.maxAttempts) {
        const wait = failure.status === "interrupted" ? 0 : backoffMs(config.retryBackoffMs, row.attempt);
        set = { status: failure.status === "stuck" ? "stuck" : "queued", nextRunAt: now + wait };
        change =
          failure.status === "stuck"
            ? "stuck"
            : failure.status === "interrupted"
              ? "interrupted"
              : "retrying";
      } else {
        set = { status: "failed" };
        change = "failed";
      }
      await this.#db
        .update(tasks)
        .set({ ...set, lastError: failure.message, updatedAt: now })
        .where(eq(tasks.id, taskId));
      if (failure.status !== "cancelled" && !failure.budget) await this.#recordFailure(row.workspaceId, now);
      await this.#changed(tx, taskId, change);
      return true;
    });
  }

  /** Cancels a task that is not final; returns it, or `invalid_transition` for a final one. */
  async cancel(taskId: string): Promise<{ task: Task; wasRunning: number | undefined }> {
    const { tasks } = this.#tasks.tables;
    const wasRunning = await this.#store.transaction(async (tx) => {
      const row = await this.#require(taskId);
      if (finalStatuses.includes(row.status as TaskStatus)) {
        throw new DispatchError("invalid_transition", `task "${taskId}" is already ${row.status}`);
      }
      const now = this.#clock();
      if (row.status === "running") {
        await this.#endAttempt(taskId, row.attempt, "cancelled", "cancelled by the user", 0);
      }
      await this.#db
        .update(tasks)
        .set({ status: "cancelled", lastError: "cancelled by the user", updatedAt: now })
        .where(eq(tasks.id, taskId));
      await this.#changed(tx, taskId, "cancelled");
      return row.status === "running" ? row.attempt : undefined;
    });
    return { task: (await this.get(taskId)) as Task, wasRunning };
  }

  /** Queues a failed, stuck or cancelled task again now, with a fresh set of attempts. */
  async retry(taskId: string): Promise<Task> {
    const { tasks } = this.#tasks.tables;
    await this.#store.transaction(async (tx) => {
      const row = await this.#require(taskId);
      if (!["failed", "stuck", "cancelled"].includes(row.status)) {
        throw new DispatchError(
          "invalid_transition",
          `task "${taskId}" is ${row.status}; only failed, stuck or cancelled tasks can be retried`,
        );
      }
      const now = this.#clock();
      await this.#db
        .update(tasks)
        .set({ status: "queued", nextRunAt: now, maxAttempts: row.attempt + row.maxAttempts, updatedAt: now })
        .where(eq(tasks.id, taskId));
      await this.#changed(tx, taskId, "requeued");
    });
    return (await this.get(taskId)) as Task;
  }

  /** Deletes a final task (`conflict` while it is queued, stuck or running). */
  async delete(taskId: string): Promise<Task> {
    const { tasks } = this.#tasks.tables;
    const task = await this.get(taskId);
    if (task === undefined) throw new DispatchError("not_found", `task "${taskId}" does not exist`);
    await this.#store.transaction(async (tx) => {
      const row = await this.#require(taskId);
      if (!finalStatuses.includes(row.status as TaskStatus)) {
        throw new DispatchError(
          "conflict",
          `task "${taskId}" is ${row.status}; cancel it before deleting it`,
        );
      }
      await this.#db.delete(tasks).where(eq(tasks.id, taskId));
      tx.emit("task.changed", { id: taskId, change: "deleted" });
    });
    return task;
  }

  /**
   * Start-up recovery: attempts left `running` by a crash become `interrupted` and their tasks are
   * queued again (or failed when no attempt is left). Returns how many.
   */
  async recoverRunning(): Promise<number> {
    const { tasks } = this.#tasks.tables;
    const running = await this.#db.select().from(tasks).where(eq(tasks.status, "running"));
    for (const row of running) {
      await this.fail(row.id, row.attempt, {
        status: "interrupted",
        message: "the host stopped while the attempt ran",
        retryable: true,
      });
    }
    return running.length;
  }

  /**
   * A dead host's attempts: every task still `running` under store instance `instanceId` gets an
   * `interrupted` attempt and is queued again (or failed when no attempt is left). Each attempt is
   * ended once, whichever survivor gets there first (the end is conditional on it still running).
   * Returns how many this call recovered.
   */
  async recoverInstance(instanceId: string): Promise<number> {
    const { tasks } = this.#tasks.tables;
    const running = await this.#db
      .select()
      .from(tasks)
      .where(and(eq(tasks.status, "running"), eq(tasks.instanceId, instanceId)));
    let recovered = 0;
    for (const row of running) {
      const ended = await this.fail(row.id, row.attempt, {
        status: "interrupted",
        message: "the host running the attempt stopped answering (cluster.instanceTimeoutMs)",
        retryable: true,
      });
      if (ended) recovered += 1;
    }
    return recovered;
  }

  /** Keeps the queued tasks of a workspace in its star order. */
  async setStarred(workspaceId: string, starred: boolean): Promise<void> {
    const { tasks } = this.#tasks.tables;
    await this.#db
      .update(tasks)
      .set({ starred })
      .where(and(eq(tasks.workspaceId, workspaceId), inArray(tasks.status, [...claimable, "running"])));
  }

  /** Closes a workspace's breaker now. */
  async resume(workspaceId: string): Promise<void> {
    const { breakers } = this.#tasks.tables;
    await this.#db.delete(breakers).where(eq(breakers.workspaceId, workspaceId));
  }

  /** Workspaces whose breaker holds their queue back, until when. */
  async openBreakers(): Promise<Array<{ workspaceId: string; failures: number; openUntil: number }>> {
    const { breakers } = this.#tasks.tables;
    const rows = await this.#db.select().from(breakers).where(gt(breakers.openUntil, this.#clock()));
    return rows.map((r) => ({
      workspaceId: r.workspaceId,
      failures: r.failures,
      openUntil: r.openUntil ?? 0,
    }));
  }

  /** Tasks by status. */
  async counts(): Promise<StatusCounts> {
    const { tasks } = this.#tasks.tables;
    const rows = await this.#db
      .select({ status: tasks.status, n: count() })
      .from(tasks)
      .groupBy(tasks.status);
    const out: StatusCounts = { queued: 0, running: 0, completed: 0, failed: 0, stuck: 0, cancelled: 0 };
    for (const row of rows) out[row.status as TaskStatus] = row.n;
    return out;
  }

  /** The day's budget row. */
  async budgetUsed(): Promise<{ day: string; attempts: number; tokens: number }> {
    const { days } = this.#tasks.tables;
    const day = dayKey(this.#clock(), this.#config.timeZone);
    const [row] = await this.#db.select().from(days).where(eq(days.day, day));
    return { day, attempts: row?.attempts ?? 0, tokens: row?.tokens ?? 0 };
  }

  /** The earliest `nextRunAt` of a claimable task, so the scheduler knows when to look again. */
  async nextRunAt(): Promise<number | undefined> {
    const { tasks } = this.#tasks.tables;
    const [row] = await this.#db
      .select({ at: sql<number | null>`min(${tasks.nextRunAt})`.mapWith(Number) })
      .from(tasks)
      .where(inArray(tasks.status, claimable));
    return row?.at ?? undefined;
  }

  /**
   * Creates (once) and locks the queue's one lock row, returning it: on Postgres every claim and
   * create of every host waits here for the one before it (`FOR UPDATE`, held to COMMIT); on SQLite
   * the write transaction is already exclusive.
   */
  async #lockQueue(): Promise<{ id: number; lastStartedAt: number | null } | undefined> {
    const { claimLock } = this.#tasks.tables;
    await this.#db.insert(claimLock).values({ id: 1, lastStartedAt: null }).onConflictDoNothing();
    const [lock] = await this.#tasks.forUpdate(this.#db.select().from(claimLock).where(eq(claimLock.id, 1)));
    return lock;
  }

  async #nextCandidate(now: number): Promise<TaskRow | undefined> {
    const { tasks, breakers } = this.#tasks.tables;
    const db = this.#db;
    const open = db.select({ id: breakers.workspaceId }).from(breakers).where(gt(breakers.openUntil, now));
    const ready = and(
      inArray(tasks.status, claimable),
      lte(tasks.nextRunAt, now),
      notInArray(tasks.workspaceId, open),
    );
    const order = [desc(tasks.priority), asc(tasks.createdAt), asc(tasks.seq)];
    // skip rows another host's transaction holds (a cancel, a retry): they are not claimable now
    const best = async (where: SQL | undefined) =>
      (
        await this.#tasks.forUpdate(
          db
            .select()
            .from(tasks)
            .where(where)
            .orderBy(...order)
            .limit(1),
          { skipLocked: true },
        )
      )[0];
    const starred = await best(and(ready, eq(tasks.starred, true)));
    const cutoff = now - this.#config.agingMs;
    // aged unstarred tasks rank as starred; the cheap existence check keeps the common case an index probe
    const [anyAged] = await db
      .select({ id: tasks.id })
      .from(tasks)
      .where(and(inArray(tasks.status, claimable), eq(tasks.starred, false), lte(tasks.createdAt, cutoff)))
      .limit(1);
    const aged =
      anyAged === undefined
        ? undefined
        : await best(and(ready, eq(tasks.starred, false), lte(tasks.createdAt, cutoff)));
    const first = [starred, aged].filter((r): r is TaskRow => r !== undefined).sort(compareOrder)[0];
    return first ?? (await best(and(ready, eq(tasks.starred, false))));
  }

  /** Closes the running attempt; false when it was not running (already ended by another path). */
  async #endAttempt(
    taskId: string,
    n: number,
    status: string,
    error: string | null,
    tokens: number,
  ): Promise<boolean> {
    const { attempts, days } = this.#tasks.tables;
    const now = this.#clock();
    const ended = await this.#db
      .update(attempts)
      .set({ status, endedAt: now, error })
      .where(and(eq(attempts.taskId, taskId), eq(attempts.n, n), eq(attempts.status, "running")))
      .returning({ n: attempts.n });
    if (ended.length === 0) return false;
    if (tokens > 0) {
      const day = dayKey(now, this.#config.timeZone);
      await this.#db
        .insert(days)
        .values({ day, attempts: 0, tokens })
        .onConflictDoUpdate({ target: days.day, set: { tokens: sql`${days.tokens} + ${tokens}` } });
    }
    return true;
  }

  async #recordFailure(workspaceId: string, now: number): Promise<void> {
    const { breakers } = this.#tasks.tables;
    const { failures: limit, cooldownMs } = this.#config.breaker;
    const [row] = await this.#db
      .insert(breakers)
      .values({ workspaceId, failures: 1, openUntil: null })
      .onConflictDoUpdate({ target: breakers.workspaceId, set: { failures: sql`${breakers.failures} + 1` } })
      .returning();
    if (row !== undefined && row.failures >= limit) {
      await this.#db
        .update(breakers)
        .set({ failures: 0, openUntil: now + cooldownMs })
        .where(eq(breakers.workspaceId, workspaceId));
    }
  }

  async #workspaceOf(taskId: string): Promise<string> {
    return (await this.#require(taskId)).workspaceId;
  }

  async #require(taskId: string): Promise<TaskRow> {
    const { tasks } = this.#tasks.tables;
    const [row] = await this.#db.select().from(tasks).where(eq(tasks.id, taskId));
    if (row === undefined) throw new DispatchError("not_found", `task "${taskId}" does not exist`);
    return row;
  }

  async #changed(tx: StoreTransaction, id: string, change: TaskChange): Promise<void> {
    const { tasks, attempts } = this.#tasks.tables;
    const [row] = await this.#db.select().from(tasks).where(eq(tasks.id, id));
    if (row === undefined) return;
    const rows = await this.#db
      .select()
      .from(attempts)
      .where(eq(attempts.taskId, id))
      .orderBy(asc(attempts.n));
    tx.emit("task.changed", { id, change, task: toTask(row, rows) });
  }
}

/** The claim order between two rows of one rank (both starred or aged). */
function compareOrder(a: TaskRow, b: TaskRow): number {
  return b.priority - a.priority || a.createdAt - b.createdAt || a.seq - b.seq;
}

/** The first epoch ms of the day after `epochMs` in `timeZone`. */
export function nextDayStart(epochMs: number, timeZone: string): number {
  const today = dayKey(epochMs, timeZone);
  // days are 23 to 25 hours long; step by the hour to the first instant of another day
  let probe = epochMs + 3_600_000 - (epochMs % 3_600_000);
  while (dayKey(probe, timeZone) === today) probe += 3_600_000;
  // back off to the exact minute the day changed (zones change on whole minutes)
  let low = probe - 3_600_000;
  while (probe - low > 60_000) {
    const mid = low + Math.floor((probe - low) / 120_000) * 60_000;
    if (dayKey(mid, timeZone) === today) low = mid;
    else probe = mid;
  }
  return probe;
}

function titleFrom(spec: string): string {
  const line = spec.split("\n", 1)[0]?.trim() ?? "";
  return (line.length > 0 ? line : "task").slice(0, 200);
}

function encodeCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`).toString("base64url");
}

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, "base64url").toString();
  const match = /^seq:(\d{1,15})$/.exec(text);
  if (match === null)
    throw new DispatchError("invalid_request", "cursor is not one this API gave out", {
      details: { field: "cursor" },
    });
  return Number(match[1]);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toTask(row: TaskRow, rows: readonly AttemptRow[]): Task {
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
