import {
  type ConversationStore,
  dialectDatabase,
  type ExtensionDatabase,
  type PreparedStatement,
  prepareStatement,
} from "@dispatch/conversation-store";
import { DispatchError } from "@dispatch/kernel";
import type { GitCommit, Worktree, WorktreeHolder } from "@dispatch/wire";
import { and, asc, count, eq, isNotNull, isNull, lt, lte, or, sql } from "drizzle-orm";
import * as pgSchema from "./pg-schema.ts";
import * as schema from "./schema.ts";

// Queries name the SQLite tables' columns for their types and `this.#t`'s tables at run time (the
// pg-core twins on Postgres): the twins have the same columns (test/schema-twins.test.ts).
const { worktrees } = schema;

/** A stored worktree row. */
export type WorktreeRow = typeof worktrees.$inferSelect;
/** What a new row needs. */
export type NewWorktree = Pick<
  WorktreeRow,
  "id" | "workspaceId" | "kind" | "title" | "path" | "branch" | "baseRef" | "prefix"
>;

/** Who takes a hold. */
export interface HolderInput {
  kind: "task" | "conversation" | "cleanup";
  /** Task id or conversation id. */
  id: string;
  attempt: number | null;
  conversationId: string | null;
  /** A task hold lets one turn of `conversationId` in (its attempt's turn). */
  admitsTurn: boolean;
}

/** The answer of `acquire`. */
export type AcquireResult = { ok: true; token: string } | { ok: false; row: WorktreeRow };

/**
 * The git-workflows tables: worktree rows with their hold and push state, and which conversation
 * runs where. Every lookup is by primary key (or a partial index for the timer's scans).
 */
export class WorktreeStore {
  readonly #db: ExtensionDatabase<typeof schema>;
  readonly #t: typeof schema;
  readonly #clock: () => number;
  readonly #instanceId: string;
  /** Every turn of every conversation asks for its binding: prepared once. */
  readonly #bindingOf: PreparedStatement<Array<{ worktreeId: string; attempt: number | null }>>;

  constructor(store: Pick<ConversationStore, "database" | "dialect" | "instanceId">, clock: () => number) {
    const { db, tables } = dialectDatabase(store, { sqlite: schema, postgres: pgSchema });
    this.#db = db;
    this.#t = tables;
    this.#clock = clock;
    this.#instanceId = store.instanceId;
    const { bindings } = tables;
    this.#bindingOf = prepareStatement(
      store.dialect,
      "git_workflows_binding_of",
      db
        .select({ worktreeId: bindings.worktreeId, attempt: bindings.attempt })
        .from(bindings)
        .where(eq(bindings.conversationId, sql.placeholder("conversationId"))),
    );
  }

  async get(id: string): Promise<WorktreeRow | undefined> {
    const { worktrees } = this.#t;
    const [row] = await this.#db.select().from(worktrees).where(eq(worktrees.id, id));
    return row;
  }

  /** Newest first; optionally one workspace's. */
  async list(workspaceId?: string): Promise<WorktreeRow[]> {
    const { worktrees } = this.#t;
    const rows = await this.#db
      .select()
      .from(worktrees)
      .where(workspaceId === undefined ? undefined : eq(worktrees.workspaceId, workspaceId))
      .orderBy(asc(worktrees.createdAt));
    return rows.reverse();
  }

  /** Adds a row unless one with its id exists (a task's later attempts reuse the first's). */
  async insert(row: NewWorktree): Promise<void> {
    const { worktrees } = this.#t;
    const now = this.#clock();
    await this.#db
      .insert(worktrees)
      .values({ ...row, state: "new", lastUsedAt: now, createdAt: now, updatedAt: now })
      .onConflictDoNothing();
  }

  /** Records that `conversationId` runs in `worktreeId` (as attempt `attempt` of its task). */
  async bind(conversationId: string, worktreeId: string, attempt: number | null): Promise<void> {
    const { bindings } = this.#t;
    await this.#db
      .insert(bindings)
      .values({ conversationId, worktreeId, attempt })
      .onConflictDoUpdate({ target: bindings.conversationId, set: { worktreeId, attempt } });
  }

  /** Where a conversation runs, if it is bound to a worktree. */
  async bindingOf(
    conversationId: string,
  ): Promise<{ worktreeId: string; attempt: number | null } | undefined> {
    const [row] = await this.#bindingOf({ conversationId });
    return row;
  }

  /**
   * Takes the worktree's hold when it is free: one conditional update, so two runs (on any host)
   * cannot both win. A task attempt also takes over the hold of an earlier attempt of its own task:
   * the queue starts an attempt only once the one before has ended, so that hold is stale (its
   * host died before releasing it, and its survivor may not have freed it yet).
   */
  async acquire(id: string, holder: HolderInput): Promise<AcquireResult> {
    const { worktrees } = this.#t;
    const token = crypto.randomUUID();
    const now = this.#clock();
    const taken = await this.#db
      .update(worktrees)
      .set({
        holderKind: holder.kind,
        holderId: holder.id,
        holderAttempt: holder.attempt,
        holderConversationId: holder.conversationId,
        holderToken: token,
        holderSince: now,
        holderInstance: this.#instanceId,
        admitsTurn: holder.admitsTurn,
        lastUsedAt: now,
        updatedAt: now,
      })
      .where(
        and(
          eq(worktrees.id, id),
          holder.kind === "task" && holder.attempt !== null
            ? or(
                isNull(worktrees.holderToken),
                and(
                  eq(worktrees.holderKind, "task"),
                  eq(worktrees.holderId, holder.id),
                  lt(worktrees.holderAttempt, holder.attempt),
                ),
              )
            : isNull(worktrees.holderToken),
        ),
      )
      .returning({ id: worktrees.id });
    if (taken.length > 0) return { ok: true, token };
    const row = await this.get(id);
    if (row === undefined) throw new DispatchError("not_found", `worktree "${id}" does not exist`);
    return { ok: false, row };
  }

  /** Lets the one turn a task hold admits in; false when the hold admits none (or another). */
  async admitTurn(id: string, conversationId: string): Promise<boolean> {
    const { worktrees } = this.#t;
    const admitted = await this.#db
      .update(worktrees)
      .set({ admitsTurn: false })
      .where(
        and(
          eq(worktrees.id, id),
          eq(worktrees.holderKind, "task"),
          eq(worktrees.holderConversationId, conversationId),
          eq(worktrees.admitsTurn, true),
        ),
      )
      .returning({ id: worktrees.id });
    return admitted.length > 0;
  }

  /** Gives the hold back; only the holder's token does. */
  async release(id: string, token: string): Promise<boolean> {
    const { worktrees } = this.#t;
    const now = this.#clock();
    const released = await this.#db
      .update(worktrees)
      .set({ ...freeHold, lastUsedAt: now, updatedAt: now })
      .where(and(eq(worktrees.id, id), eq(worktrees.holderToken, token)))
      .returning({ id: worktrees.id });
    return released.length > 0;
  }

  /** Gives back the hold of task attempt `n`, whatever its token. */
  async releaseAttempt(taskId: string, n: number): Promise<boolean> {
    const { worktrees } = this.#t;
    const now = this.#clock();
    const released = await this.#db
      .update(worktrees)
      .set({ ...freeHold, lastUsedAt: now, updatedAt: now })
      .where(
        and(
          eq(worktrees.id, taskId),
          eq(worktrees.holderKind, "task"),
          eq(worktrees.holderId, taskId),
          eq(worktrees.holderAttempt, n),
        ),
      )
      .returning({ id: worktrees.id });
    return released.length > 0;
  }

  /**
   * Start-up on SQLite: every hold belonged to a run of the previous process, which is gone (one
   * host per database). On Postgres other hosts' holds are alive: see `releaseInstance`. Returns
   * how many were freed.
   */
  async clearHolds(): Promise<number> {
    const { worktrees } = this.#t;
    const freed = await this.#db
      .update(worktrees)
      .set(freeHold)
      .where(isNotNull(worktrees.holderToken))
      .returning({ id: worktrees.id });
    return freed.length;
  }

  /** Frees the holds taken by store instance `instanceId` (a host declared dead). Returns how many. */
  async releaseInstance(instanceId: string): Promise<number> {
    const { worktrees } = this.#t;
    const freed = await this.#db
      .update(worktrees)
      .set(freeHold)
      .where(and(isNotNull(worktrees.holderToken), eq(worktrees.holderInstance, instanceId)))
      .returning({ id: worktrees.id });
    return freed.length;
  }

  /**
   * Takes a due push for this host: moves its `nextPushAt` to `until` if it is still the pending
   * push `row` was read as (same attempts, same due time). One conditional update, so of the hosts
   * that found it due one pushes; if that host dies, the push is due again at `until`.
   */
  async claimPush(
    row: Pick<WorktreeRow, "id" | "pushAttempts" | "nextPushAt">,
    until: number,
  ): Promise<boolean> {
    const { worktrees } = this.#t;
    const claimed = await this.#db
      .update(worktrees)
      .set({ nextPushAt: until })
      .where(
        and(
          eq(worktrees.id, row.id),
          eq(worktrees.pushStatus, "pending"),
          eq(worktrees.pushAttempts, row.pushAttempts),
          row.nextPushAt === null ? isNull(worktrees.nextPushAt) : eq(worktrees.nextPushAt, row.nextPushAt),
        ),
      )
      .returning({ id: worktrees.id });
    return claimed.length > 0;
  }

  async update(id: string, patch: Partial<Omit<WorktreeRow, "id">>): Promise<void> {
    const { worktrees } = this.#t;
    await this.#db
      .update(worktrees)
      .set({ ...patch, updatedAt: this.#clock() })
      .where(eq(worktrees.id, id));
  }

  /** Deletes the row and its bindings. */
  async delete(id: string): Promise<void> {
    const { worktrees } = this.#t;
    await this.#db.delete(worktrees).where(eq(worktrees.id, id));
  }

  /** Rows of a workspace (for its deletion). */
  async ofWorkspace(workspaceId: string): Promise<WorktreeRow[]> {
    const { worktrees } = this.#t;
    return this.#db.select().from(worktrees).where(eq(worktrees.workspaceId, workspaceId));
  }

  /** Pending pushes whose time has come. */
  async duePushes(now: number, limit = 20): Promise<WorktreeRow[]> {
    const { worktrees } = this.#t;
    return this.#db
      .select()
      .from(worktrees)
      .where(and(eq(worktrees.pushStatus, "pending"), lte(worktrees.nextPushAt, now)))
      .orderBy(asc(worktrees.nextPushAt))
      .limit(limit);
  }

  /** Free worktrees unused since `before`, and free ones whose task was deleted. */
  async removable(before: number, limit = 20): Promise<WorktreeRow[]> {
    const { worktrees } = this.#t;
    return this.#db
      .select()
      .from(worktrees)
      .where(
        and(
          isNull(worktrees.holderToken),
          or(
            and(eq(worktrees.state, "active"), lte(worktrees.lastUsedAt, before)),
            eq(worktrees.removeRequested, true),
          ),
        ),
      )
      .limit(limit);
  }

  /** Counts for metrics. */
  async counts(): Promise<{ states: Record<string, number>; pushes: Record<string, number> }> {
    const { worktrees } = this.#t;
    const states = await this.#db
      .select({ key: worktrees.state, n: count() })
      .from(worktrees)
      .groupBy(worktrees.state);
    const pushes = await this.#db
      .select({ key: sql<string>`coalesce(${worktrees.pushStatus}, 'none')`, n: count() })
      .from(worktrees)
      .groupBy(worktrees.pushStatus);
    return {
      states: Object.fromEntries(states.map((r) => [r.key, r.n])),
      pushes: Object.fromEntries(pushes.map((r) => [r.key, r.n])),
    };
  }
}

const freeHold = {
  holderKind: null,
  holderId: null,
  holderAttempt: null,
  holderConversationId: null,
  holderToken: null,
  holderSince: null,
  holderInstance: null,
  admitsTurn: false,
} as const;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The hold of a row as the API shows it. */
export function holderOf(row: WorktreeRow): WorktreeHolder | null {
  if (row.holderToken === null || row.holderKind === null || row.holderId === null) return null;
  return {
    kind: row.holderKind,
    id: row.holderId,
    attempt: row.holderAttempt,
    conversationId: row.holderConversationId,
    since: iso(row.holderSince) as string,
  };
}

/** The `conflict` a second run gets: names the run holding the worktree. */
export function heldError(row: WorktreeRow): DispatchError {
  const holder = holderOf(row);
  const who =
    holder === null
      ? "another run"
      : holder.kind === "task"
        ? `task ${holder.id} attempt ${holder.attempt} (conversation ${holder.conversationId})`
        : holder.kind === "conversation"
          ? `a turn of conversation ${holder.id}`
          : "the host's clean-up (it is being removed)";
  return new DispatchError(
    "conflict",
    `worktree ${row.id} (branch ${row.branch}) is held by ${who} since ${holder?.since ?? "now"}; ` +
      "one run at a time works in a worktree, try again when that run ends",
    { details: { worktree: row.id, holder } },
  );
}

/** The commits recorded on a row. */
export function commitsOf(row: WorktreeRow): GitCommit[] {
  return JSON.parse(row.commits) as GitCommit[];
}

/** A row as the API shows it. */
export function toWorktree(row: WorktreeRow): Worktree {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    kind: row.kind,
    path: row.path,
    branch: row.branch,
    baseRef: row.baseRef,
    baseSha: row.baseSha,
    state: row.state,
    holder: holderOf(row),
    commits: commitsOf(row),
    pushStatus: row.pushStatus,
    pushError: row.pushError,
    pushAttempts: row.pushAttempts,
    nextPushAt: row.pushStatus === "pending" ? iso(row.nextPushAt) : null,
    pushedSha: row.pushedSha,
    lastUsedAt: iso(row.lastUsedAt) as string,
    createdAt: iso(row.createdAt) as string,
    updatedAt: iso(row.updatedAt) as string,
  };
}
