import { and, asc, eq, lt, sql } from "drizzle-orm";
import { checkInteger, checkText } from "./field-checks.ts";
import { conversations, locks, turns } from "./schema.ts";
import type { StoreDatabase } from "./store-database.ts";
import { invalidField, notFound } from "./store-error.ts";
import type { FileLock, LockRepository } from "./types.ts";

/** Longest lock path accepted: the tools lock paths inside a root, which is itself capped at 4096. */
const maxLockPath = 8192;

type LockRow = typeof locks.$inferSelect;

function toLock(row: LockRow): FileLock {
  return { ...row };
}

/**
 * File locks in SQLite. A lock is held while `now <= expiresAt`; the holder's conversation may refresh
 * it (even from a later turn), anyone may take it over once it has expired.
 */
export class SqliteLockRepository implements LockRepository {
  readonly #db: StoreDatabase;
  // Prepared once: every finished turn asks, and most turns hold no lock at all.
  readonly #turnHolds;
  readonly #releaseTurn;

  constructor(db: StoreDatabase) {
    this.#db = db;
    const p = sql.placeholder;
    this.#turnHolds = db.orm
      .select({ path: locks.path })
      .from(locks)
      .where(eq(locks.turnId, p("turnId")))
      .limit(1)
      .prepare();
    this.#releaseTurn = db.orm
      .delete(locks)
      .where(eq(locks.turnId, p("turnId")))
      .returning({ path: locks.path })
      .prepare();
  }

  async acquire(input: {
    workspaceId: string;
    path: string;
    conversationId: string;
    turnId: string;
    ttlMs: number;
  }): Promise<{ ok: true; lock: FileLock } | { ok: false; holder: FileLock }> {
    const path = checkText("path", input.path, { min: 1, max: maxLockPath });
    const ttlMs = checkInteger("ttlMs", input.ttlMs, { min: 1 });
    const { workspaceId, conversationId, turnId } = input;
    return this.#db.write(() => {
      const turn = this.#db.orm
        .select({ conversationId: turns.conversationId, workspaceId: conversations.workspaceId })
        .from(turns)
        .innerJoin(conversations, eq(turns.conversationId, conversations.id))
        .where(eq(turns.id, turnId))
        .get();
      if (!turn) throw notFound("turn", turnId);
      if (turn.conversationId !== conversationId) {
        throw invalidField(
          "turnId",
          `belongs to conversation "${turn.conversationId}", not "${conversationId}"`,
        );
      }
      if (turn.workspaceId !== workspaceId) {
        throw invalidField(
          "workspaceId",
          `is "${workspaceId}" but the conversation is in "${turn.workspaceId}"`,
        );
      }
      const now = this.#db.now();
      const where = and(eq(locks.workspaceId, workspaceId), eq(locks.path, path));
      const current = this.#db.orm.select().from(locks).where(where).get();
      if (current && current.conversationId !== conversationId && current.expiresAt >= now) {
        return { ok: false as const, holder: toLock(current) };
      }
      // The same turn refreshing keeps its original acquiredAt; a new holder or a new turn starts afresh.
      const acquiredAt = current && current.turnId === turnId ? current.acquiredAt : now;
      const row = this.#db.orm
        .insert(locks)
        .values({ workspaceId, path, conversationId, turnId, acquiredAt, expiresAt: now + ttlMs })
        .onConflictDoUpdate({
          target: [locks.workspaceId, locks.path],
          set: { conversationId, turnId, acquiredAt, expiresAt: now + ttlMs },
        })
        .returning()
        .get();
      return { ok: true as const, lock: toLock(row) };
    });
  }

  async releaseTurn(turnId: string): Promise<number> {
    // A read first, so a turn that took no lock costs no write transaction.
    if (this.#db.read(() => this.#turnHolds.get({ turnId })) === undefined) return 0;
    return this.#db.write(() => this.#releaseTurn.all({ turnId }).length);
  }

  async sweepExpired(now: number): Promise<number> {
    if (!Number.isFinite(now)) throw invalidField("now", "must be a finite number (epoch ms)");
    return this.#db.write(
      () =>
        this.#db.orm.delete(locks).where(lt(locks.expiresAt, now)).returning({ path: locks.path }).all()
          .length,
    );
  }

  /** Every lock in the workspace, expired or not, by path. */
  async list(workspaceId: string): Promise<FileLock[]> {
    const rows = this.#db.read(() =>
      this.#db.orm
        .select()
        .from(locks)
        .where(eq(locks.workspaceId, workspaceId))
        .orderBy(asc(locks.path))
        .all(),
    );
    return rows.map(toLock);
  }
}
