import type { ConversationStore, ExtensionDatabase, StoreTransaction } from "@dispatch/conversation-store";
import { DispatchError, type DispatchEvents } from "@dispatch/kernel";
import type { Task, TaskStatus } from "@dispatch/wire";
import { and, count, eq, notInArray, sql } from "drizzle-orm";
import { isClaimable } from "./claim-statements.ts";
import type { TasksConfig } from "./config.ts";
import { dayKey, nextDayStart } from "./day-key.ts";
import { type AttemptFailure, backoffMs } from "./retry-policy.ts";
import type * as schema from "./schema.ts";
import { TaskClaim } from "./task-claim.ts";
import { type TaskRow, titleFrom } from "./task-json.ts";
import { budgetUsed, listTasks, nextRunAt, openBreakers, readTask, statusCounts } from "./task-reads.ts";
import { type TasksDatabase, tasksDatabase } from "./tasks-database.ts";
import type { ClaimedTask, ClaimRefusal, StatusCounts, TaskChange, TaskOptions } from "./types.ts";
import { closeBreaker, recordFailure } from "./workspace-breaker.ts";

/** Statuses a task never leaves on its own. */
const finalStatuses: TaskStatus[] = ["completed", "failed", "cancelled"];

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
  /** Publishes a bus event of a change made outside `store.transaction` (one statement, already committed). */
  publish?: <K extends "task.changed">(event: K, payload: DispatchEvents[K]) => void;
}

/**
 * The durable task queue (DESIGN §12). Every limit is enforced by the claim itself, inside one
 * write transaction: the running count, the cooldown since the last start and the day's budget row
 * are read and moved together, so two claimers (two processes on one file, or two hosts on one
 * Postgres database) cannot both pass a limit. On Postgres the claim runs in a transaction that first
 * locks the queue's one lock row (`FOR UPDATE`: claims and creates of every host take turns, so the
 * limits its UPDATE checks are exact), and it takes its task `FOR UPDATE SKIP LOCKED`, so a task being
 * cancelled or retried elsewhere is passed over rather than waited for.
 */
export class TaskQueue {
  readonly #tasks: TasksDatabase;
  readonly #store: TaskQueueDeps["store"];
  readonly #config: TasksConfig;
  readonly #clock: () => number;
  readonly #publish: NonNullable<TaskQueueDeps["publish"]>;
  readonly #claim: TaskClaim;

  constructor(deps: TaskQueueDeps) {
    this.#store = deps.store;
    this.#publish = deps.publish ?? (() => {});
    this.#tasks = tasksDatabase(deps.store);
    this.#config = deps.config;
    this.#clock = deps.clock;
    this.#claim = new TaskClaim(this.#tasks, { ...deps, publish: this.#publish });
  }

  get #db(): ExtensionDatabase<typeof schema> {
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
      // the queue's lock row (Postgres): the count and the next seq below are exact across hosts
      if (this.#tasks.dialect === "postgres") await this.#claim.lockQueue();
      const [waiting] = await db.select({ n: count() }).from(tasks).where(isClaimable);
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
        rank: workspace.starred ? 0 : 1,
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
  get(id: string): Promise<Task | undefined> {
    return readTask(this.#tasks, id);
  }

  /** Newest first; `cursor` is the opaque `nextCursor` of the previous page. */
  list(filter: {
    status?: TaskStatus;
    workspaceId?: string;
    limit?: number;
    cursor?: string;
  }): Promise<{ tasks: Task[]; nextCursor: string | null }> {
    return listTasks(this.#tasks, filter);
  }

  /** Starts the next task if every limit allows (see `TaskClaim`). */
  claim(): Promise<ClaimedTask | ClaimRefusal> {
    return this.#claim.claim();
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
    const { tasks } = this.#tasks.tables;
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
      await closeBreaker(this.#tasks, await this.#workspaceOf(taskId));
      await this.#changed(tx, taskId, "completed");
    });
  }

  /**
   * Attempt `n` ended without completing: retried after the backoff when the failure is retryable and
   * attempts are left, otherwise final. A spent budget requeues for the next day without counting.
   * False when attempt `n` was no longer running (another path ended it first).
   */
  async fail(
    taskId: string,
    n: number,
    failure: AttemptFailure,
    tokens = 0,
    result?: Record<string, unknown>,
  ): Promise<boolean> {
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
        // the attempt did not get to work: it does not count against maxAttempts, and the task waits
        // for tomorrow. It keeps its number and its row (with the reason), so the next claim numbers
        // its attempt after it rather than over it.
        set = {
          status: "queued",
          maxAttempts: row.maxAttempts + 1,
          nextRunAt: nextDayStart(now, config.timeZone),
        };
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
        .set({
          ...set,
          ...(result === undefined ? {} : { result: JSON.stringify(result) }),
          lastError: failure.message,
          updatedAt: now,
        })
        .where(eq(tasks.id, taskId));
      if (failure.status !== "cancelled" && !failure.budget)
        await recordFailure(this.#tasks, row.workspaceId, now, this.#config.breaker);
      await this.#changed(tx, taskId, change);
      return true;
    });
  }

  /** Merges `patch` into a task's result (null fields included); undefined when the task is gone. */
  async patchResult(taskId: string, patch: Record<string, unknown>): Promise<Task | undefined> {
    const { tasks } = this.#tasks.tables;
    const found = await this.#store.transaction(async (tx) => {
      const [row] = await this.#db.select().from(tasks).where(eq(tasks.id, taskId));
      if (row === undefined) return false;
      const current = row.result === null ? {} : (JSON.parse(row.result) as Record<string, unknown>);
      await this.#db
        .update(tasks)
        .set({ result: JSON.stringify({ ...current, ...patch }), updatedAt: this.#clock() })
        .where(eq(tasks.id, taskId));
      await this.#changed(tx, taskId, "updated");
      return true;
    });
    return found ? this.get(taskId) : undefined;
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

  /** Keeps the waiting tasks of a workspace in its star order (unstarred, the aged ones still rank first). */
  async setStarred(workspaceId: string, starred: boolean): Promise<void> {
    const { tasks } = this.#tasks.tables;
    const cutoff = this.#clock() - this.#config.agingMs;
    await this.#db
      .update(tasks)
      .set({ rank: starred ? 0 : sql`case when ${tasks.createdAt} <= ${cutoff} then 0 else 1 end` })
      .where(and(eq(tasks.workspaceId, workspaceId), notInArray(tasks.status, finalStatuses)));
  }

  /** Closes a workspace's breaker now. */
  resume(workspaceId: string): Promise<void> {
    return closeBreaker(this.#tasks, workspaceId);
  }

  /** Workspaces whose breaker holds their queue back, until when. */
  openBreakers(): Promise<Array<{ workspaceId: string; failures: number; openUntil: number }>> {
    return openBreakers(this.#tasks, this.#clock());
  }

  /** Tasks by status. */
  counts(): Promise<StatusCounts> {
    return statusCounts(this.#tasks);
  }

  /** The day's budget row. */
  budgetUsed(): Promise<{ day: string; attempts: number; tokens: number }> {
    return budgetUsed(this.#tasks, dayKey(this.#clock(), this.#config.timeZone));
  }

  /** The earliest `nextRunAt` of a claimable task, so the scheduler knows when to look again. */
  nextRunAt(): Promise<number | undefined> {
    return nextRunAt(this.#tasks);
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
    const task = await readTask(this.#tasks, id);
    if (task !== undefined) tx.emit("task.changed", { id, change, task });
  }
}
