import { checkInteger, checkText } from "../field-checks.ts";
import { invalidField, notFound } from "../store-error.ts";
import type { FileLock, LockRepository } from "../types.ts";
import type { PgStoreDatabase } from "./pg-database.ts";
import { lockOf, type Row } from "./pg-rows.ts";

/** Longest lock path accepted (as in SQLite). */
const maxLockPath = 8192;

/**
 * File locks in PostgreSQL. Taking a lock is one conditional upsert: it writes only when the row
 * is free, expired or already the caller's conversation's, so two hosts racing for one path cannot
 * both win (the loser's upsert changes nothing and it reads the holder).
 */
export class PgLockRepository implements LockRepository {
  readonly #db: PgStoreDatabase;

  constructor(db: PgStoreDatabase) {
    this.#db = db;
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
    const [turn] = await this.#db.q`
      select t.conversation_id, c.workspace_id from turns t join conversations c on c.id = t.conversation_id
      where t.id = ${turnId}`;
    if (turn === undefined) throw notFound("turn", turnId);
    if (turn.conversation_id !== conversationId) {
      throw invalidField(
        "turnId",
        `belongs to conversation "${turn.conversation_id}", not "${conversationId}"`,
      );
    }
    if (turn.workspace_id !== workspaceId) {
      throw invalidField(
        "workspaceId",
        `is "${workspaceId}" but the conversation is in "${turn.workspace_id}"`,
      );
    }
    for (;;) {
      const now = this.#db.now();
      const [taken] = await this.#db.write(
        (q) => q`
          insert into locks (workspace_id, path, conversation_id, turn_id, acquired_at, expires_at)
          values (${workspaceId}, ${path}, ${conversationId}, ${turnId}, ${now}, ${now + ttlMs})
          on conflict (workspace_id, path) do update set
            conversation_id = excluded.conversation_id,
            turn_id = excluded.turn_id,
            acquired_at = case when locks.turn_id = excluded.turn_id then locks.acquired_at else excluded.acquired_at end,
            expires_at = excluded.expires_at
          where locks.conversation_id = excluded.conversation_id or locks.expires_at < ${now}
          returning *`,
        { single: true },
      );
      if (taken !== undefined) return { ok: true, lock: lockOf(taken) };
      const [holder] = await this.#db
        .q`select * from locks where workspace_id = ${workspaceId} and path = ${path}`;
      // released between the two statements: try again
      if (holder !== undefined) return { ok: false, holder: lockOf(holder) };
    }
  }

  async releaseTurn(turnId: string): Promise<number> {
    const rows = await this.#db.write((q) => q`delete from locks where turn_id = ${turnId} returning path`, {
      single: true,
    });
    return rows.length;
  }

  async sweepExpired(now: number): Promise<number> {
    if (!Number.isFinite(now)) throw invalidField("now", "must be a finite number (epoch ms)");
    const rows = await this.#db.write(
      (q) => q`delete from locks where expires_at < ${Math.trunc(now)} returning path`,
      { single: true },
    );
    return rows.length;
  }

  /** Every lock in the workspace, expired or not, by path. */
  async list(workspaceId: string): Promise<FileLock[]> {
    const rows: Row[] = await this.#db.q`
      select * from locks where workspace_id = ${workspaceId} order by path collate "C"`;
    return rows.map(lockOf);
  }
}
