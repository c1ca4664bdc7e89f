import type { ExtensionDatabase } from "@dispatch/conversation-store";
import { and, count, eq, lte, sql } from "drizzle-orm";
import { isClaimable, prepareClaim } from "./claim-statements.ts";
import type { TasksConfig } from "./config.ts";
import { dayKey, nextDayStart } from "./day-key.ts";
import type * as schema from "./schema.ts";
import { firstAttempt, type TaskRow, toTask } from "./task-json.ts";
import type { TaskQueueDeps } from "./task-queue.ts";
import { attemptsOf } from "./task-reads.ts";
import type { TasksDatabase } from "./tasks-database.ts";
import type { ClaimedTask, ClaimRefusal, TaskOptions } from "./types.ts";

/**
 * The claim of the task queue: the one write that starts a task, with every limit checked in it
 * (DESIGN §12), and the queue's lock row that claims and creates take on Postgres.
 */
export class TaskClaim {
  readonly #tasks: TasksDatabase;
  readonly #store: TaskQueueDeps["store"];
  readonly #config: TasksConfig;
  readonly #clock: () => number;
  readonly #publish: NonNullable<TaskQueueDeps["publish"]>;
  // Built once: building a query costs more than running it, and a host claims on every tick
  // (SQLite; the Postgres claim is built per call, see #claimOnPostgres).
  readonly #statements: ReturnType<typeof prepareClaim> | undefined;

  constructor(
    tasks: TasksDatabase,
    deps: Pick<TaskQueueDeps, "store" | "config" | "clock"> & {
      publish: NonNullable<TaskQueueDeps["publish"]>;
    },
  ) {
    this.#tasks = tasks;
    this.#store = deps.store;
    this.#config = deps.config;
    this.#clock = deps.clock;
    this.#publish = deps.publish;
    this.#statements = tasks.dialect === "sqlite" ? prepareClaim(tasks.db) : undefined;
  }

  get #db(): ExtensionDatabase<typeof schema> {
    return this.#tasks.db;
  }

  /**
   * Starts the next task if every limit allows. The claim is one UPDATE: its WHERE takes the next
   * task in claim order and checks the running count, the cooldown since the last start and the
   * day's budget row, and a trigger records the attempt, the start time and the day's count in the
   * same statement. Nothing can start between a check and its bookkeeping, in this process or
   * another one on the same file.
   */
  async claim(): Promise<ClaimedTask | ClaimRefusal> {
    const now = this.#clock();
    const config = this.#config;
    const day = dayKey(now, config.timeZone);
    const { attempts: attemptBudget, tokens: tokenBudget } = config.dailyBudget;
    const limits = {
      now,
      day,
      instance: this.#store.instanceId,
      maxRunning: config.maxRunning,
      startedBefore: now - config.cooldownMs,
      attemptBudget: attemptBudget ?? Number.MAX_SAFE_INTEGER,
      tokenBudget: tokenBudget ?? Number.MAX_SAFE_INTEGER,
    };
    const statements = this.#statements;
    let row: TaskRow | undefined;
    if (statements === undefined) row = await this.#claimOnPostgres(limits);
    else {
      await statements.age.run({ cutoff: now - config.agingMs });
      [row] = await statements.start.all(limits);
    }
    if (row === undefined) return this.#whyNot(now, day);
    // A first attempt has no earlier ones: its one row is what the claim trigger just wrote, so most
    // claims need no read for the event (a third of a claim's time on SQLite).
    const rows =
      row.attempt === 1
        ? [firstAttempt(row)]
        : statements === undefined
          ? await attemptsOf(this.#tasks, row.id)
          : await statements.attemptsOf.all({ taskId: row.id });
    this.#publish("task.changed", { id: row.id, change: "started", task: toTask(row, rows) });
    return {
      id: row.id,
      workspaceId: row.workspaceId,
      title: row.title,
      spec: row.spec,
      n: row.attempt,
      options: JSON.parse(row.options) as TaskOptions,
      readySince: row.nextRunAt,
    };
  }

  /**
   * The claim on Postgres: the SQLite claim's UPDATE (its WHERE checks every limit; the
   * `tasks_tasks_claimed` trigger does the bookkeeping), in a transaction that holds the queue's lock
   * row, with the candidate taken `FOR UPDATE SKIP LOCKED`. Under READ COMMITTED each statement sees
   * what was committed before it began, and every claim of every host waits for the lock first, so the
   * counts it checks are exact.
   */
  async #claimOnPostgres(limits: {
    now: number;
    day: string;
    instance: string;
    maxRunning: number;
    startedBefore: number;
    attemptBudget: number;
    tokenBudget: number;
  }): Promise<TaskRow | undefined> {
    const { tasks, breakers, claimLock, days } = this.#tasks.tables;
    const { now, day } = limits;
    return this.#store.transaction(async () => {
      await this.lockQueue();
      await this.#db
        .update(tasks)
        .set({ rank: 0 })
        .where(and(eq(tasks.rank, 1), isClaimable, lte(tasks.createdAt, now - this.#config.agingMs)));
      const next = sql`(select ${tasks.id} from ${tasks}
        where ${isClaimable} and ${tasks.nextRunAt} <= ${now}
          and ${tasks.workspaceId} not in (select ${breakers.workspaceId} from ${breakers} where ${breakers.openUntil} > ${now})
        order by ${tasks.rank}, ${tasks.priority} desc, ${tasks.createdAt}, ${tasks.seq}
        limit 1 for update skip locked)`;
      const [row] = await this.#db
        .update(tasks)
        .set({
          status: "running",
          attempt: sql`${tasks.attempt} + 1`,
          conversationId: null,
          instanceId: limits.instance,
          updatedAt: now,
          claimDay: day,
        })
        .where(
          and(
            sql`${tasks.id} = ${next}`,
            sql`(select count(*) from ${tasks} where ${tasks.status} = 'running') < ${limits.maxRunning}`,
            sql`coalesce((select ${claimLock.lastStartedAt} from ${claimLock} where ${claimLock.id} = 1), ${-Number.MAX_SAFE_INTEGER}) <= ${limits.startedBefore}`,
            sql`coalesce((select ${days.attempts} from ${days} where ${days.day} = ${day}), 0) < ${limits.attemptBudget}`,
            sql`coalesce((select ${days.tokens} from ${days} where ${days.day} = ${day}), 0) < ${limits.tokenBudget}`,
          ),
        )
        .returning();
      return row;
    });
  }

  /**
   * Creates (once) and locks the queue's one lock row (Postgres): every claim and create of every host
   * waits here for the one before it (`FOR UPDATE`, held to COMMIT).
   */
  async lockQueue(): Promise<void> {
    const { claimLock } = this.#tasks.tables;
    await this.#db.insert(claimLock).values({ id: 1, lastStartedAt: null }).onConflictDoNothing();
    await this.#tasks.forUpdate(
      this.#db.select({ id: claimLock.id }).from(claimLock).where(eq(claimLock.id, 1)),
    );
  }

  /** Which limit held a claim back (read after it, so only indicative under concurrency). */
  async #whyNot(now: number, day: string): Promise<ClaimRefusal> {
    const { tasks, days, claimLock } = this.#tasks.tables;
    const db = this.#db;
    const config = this.#config;
    const [running] = await db.select({ n: count() }).from(tasks).where(eq(tasks.status, "running"));
    if ((running?.n ?? 0) >= config.maxRunning) return { reason: "max_running" };
    const [lock] = await db.select().from(claimLock).where(eq(claimLock.id, 1));
    const lastStart = lock?.lastStartedAt ?? null;
    if (lastStart !== null && now - lastStart < config.cooldownMs) {
      return { reason: "cooldown", until: lastStart + config.cooldownMs };
    }
    const [used] = await db.select().from(days).where(eq(days.day, day));
    const budget = config.dailyBudget;
    if (
      (budget.attempts !== undefined && (used?.attempts ?? 0) >= budget.attempts) ||
      (budget.tokens !== undefined && (used?.tokens ?? 0) >= budget.tokens)
    ) {
      return { reason: "budget", until: nextDayStart(now, config.timeZone) };
    }
    return { reason: "empty" };
  }
}
