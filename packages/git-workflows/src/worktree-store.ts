import type { ConversationStore, ExtensionDatabase } from "@dispatch/conversation-store";
import { DispatchError } from "@dispatch/kernel";
import type { GitCommit, Worktree, WorktreeHolder } from "@dispatch/wire";
import { and, asc, count, eq, isNotNull, isNull, lte, or, sql } from "drizzle-orm";
import * as schema from "./schema.ts";

const { worktrees, bindings } = schema;

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
  readonly #clock: () => number;

  constructor(store: Pick<ConversationStore, "database">, clock: () => number) {
    this.#db = store.database(schema);
    this.#clock = clock;
  }

  async get(id: string): Promise<WorktreeRow | undefined> {
    const [row] = await this.#db.select().from(worktrees).where(eq(worktrees.id, id));
    return row;
  }

  /** Newest first; optionally one workspace's. */
  async list(workspaceId?: string): Promise<WorktreeRow[]> {
    const rows = await this.#db
      .select()
      .from(worktrees)
      .where(workspaceId === undefined ? undefined : eq(worktrees.workspaceId, workspaceId))
      .orderBy(asc(worktrees.createdAt));
    return rows.reverse();
  }

  /** Adds a row unless one with its id exists (a task's later attempts reuse the first's). */
  async insert(row: NewWorktree): Promise<void> {
    const now = this.#clock();
    await this.#db
      .insert(worktrees)
      .values({ ...row, state: "new", lastUsedAt: now, createdAt: now, updatedAt: now })
      .onConflictDoNothing();
  }

  /** Records that `conversationId` runs in `worktreeId` (as attempt `attempt` of its task). */
  async bind(conversationId: string, worktreeId: string, attempt: number | null): Promise<void> {
    await this.#db
      .insert(bindings)
      .values({ conversationId, worktreeId, attempt })
      .onConflictDoUpdate({ target: bindings.conversationId, set: { worktreeId, attempt } });
  }

  /** Where a conversation runs, if it is bound to a worktree. */
  async bindingOf(
    conversationId: string,
  ): Promise<{ worktreeId: string; attempt: number | null } | undefined> {
    const [row] = await this.#db
      .select({ worktreeId: bindings.worktreeId, attempt: bindings.attempt })
      .from(bindings)
      .where(eq(bindings.conversationId, conversationId));
    return row;
  }

  /** Takes the worktree's hold when it is free: one conditional update, so two runs cannot both win. */
  async acquire(id: string, holder: HolderInput): Promise<AcquireResult> {
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
        admitsTurn: holder.admitsTurn,
        lastUsedAt: now,
        updatedAt: now,
      })
      .where(and(eq(worktrees.id, id), isNull(worktrees.holderToken)))
      .returning({ id: worktrees.id });
    if (taken.length > 0) return { ok: true, token };
    const row = await this.get(id);
    if (row === undefined) throw new DispatchError("not_found", `worktree "${id}" does not exist`);
    return { ok: false, row };
  }

  /** Lets the one turn a task hold admits in; false when the hold admits none (or another). */
  async admitTurn(id: string, conversationId: string): Promise<boolean> {
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
   * Start-up: every hold belonged to a run of the previous process, which is gone (one host per
   * database; see notes/decisions.md). Returns how many were freed.
   */
  async clearHolds(): Promise<number> {
    const freed = await this.#db
      .update(worktrees)
      .set(freeHold)
      .where(isNotNull(worktrees.holderToken))
      .returning({ id: worktrees.id });
    return freed.length;
  }

  async update(id: string, patch: Partial<Omit<WorktreeRow, "id">>): Promise<void> {
    await this.#db
      .update(worktrees)
      .set({ ...patch, updatedAt: this.#clock() })
      .where(eq(worktrees.id, id));
  }

  /** Deletes the row and its bindings. */
  async delete(id: string): Promise<void> {
    await this.#db.delete(worktrees).where(eq(worktrees.id, id));
  }

  /** Rows of a workspace (for its deletion). */
  async ofWorkspace(workspaceId: string): Promise<WorktreeRow[]> {
    return this.#db.select().from(worktrees).where(eq(worktrees.workspaceId, workspaceId));
  }

  /** Pending pushes whose time has come. */
  async duePushes(now: number, limit = 20): Promise<WorktreeRow[]> {
    return this.#db
      .select()
      .from(worktrees)
      .where(and(eq(worktrees.pushStatus, "pending"), lte(worktrees.nextPushAt, now)))
      .orderBy(asc(worktrees.nextPushAt))
      .limit(limit);
  }

  /** Free worktrees unused since `before`, and free ones whose task was deleted. */
  async removable(before: number, limit = 20): Promise<WorktreeRow[]> {
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
