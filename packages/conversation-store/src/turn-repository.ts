import { type Message, TurnStatus } from "@dispatch/wire";
import { asc, eq, sql } from "drizzle-orm";
import { invalidFieldOf } from "./field-checks.ts";
import { checkPrompt, conversationBusy, followupsQueued } from "./repository-inputs.ts";
import { queuedMessages, turns, unfinishedStatusesSql } from "./schema.ts";
import type { Statements } from "./statements.ts";
import type { StoreDatabase } from "./store-database.ts";
import { notFound, StoreError, sqliteCode } from "./store-error.ts";
import type { Turn, TurnRepository } from "./types.ts";

/** Longest error text kept on a turn; longer ones are cut (a failing turn must still be recorded). */
export const maxTurnErrorLength = 16 * 1024;

type TurnRow = typeof turns.$inferSelect;

/** Maps a stored row to the contract's `Turn`. */
export function toTurn(row: TurnRow): Turn {
  return {
    id: row.id,
    conversationId: row.conversationId,
    status: row.status as TurnStatus,
    promptStartedAt: row.promptStartedAt,
    error: row.error,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

/** Turns in SQLite; the busy check and the claim are one IMMEDIATE transaction. */
export class SqliteTurnRepository implements TurnRepository {
  readonly #db: StoreDatabase;
  readonly #statements: Statements;
  readonly #maxMessageBytes: number;

  constructor(db: StoreDatabase, statements: Statements, maxMessageBytes: number) {
    this.#db = db;
    this.#statements = statements;
    this.#maxMessageBytes = maxMessageBytes;
  }

  async claim(input: {
    conversationId: string;
    text: string;
    promptStartedAt: number;
    followupId?: string;
    refuseIfQueued?: boolean;
  }): Promise<{ turn: Turn; message: Message }> {
    checkPrompt(input, this.#maxMessageBytes);
    const { conversationId, text } = input;
    const statements = this.#statements;
    return this.#db.write(() => {
      if (!statements.conversationExists.get({ id: conversationId })) {
        throw notFound("conversation", conversationId);
      }
      const active = this.#activeRow(conversationId);
      if (active) throw conversationBusy(conversationId, active.id);
      if (input.refuseIfQueued && statements.anyQueued.get({ conversationId }) !== undefined)
        throw followupsQueued(conversationId);
      const now = this.#db.now();
      const turnId = `t_${Bun.randomUUIDv7()}`;
      let turnRow: TurnRow;
      try {
        turnRow = statements.insertTurn.get({
          id: turnId,
          conversationId,
          promptStartedAt: Math.trunc(input.promptStartedAt),
          now,
        }) as TurnRow;
      } catch (error) {
        // The partial unique index caught a claim that the check above did not (another connection).
        if (sqliteCode(error) === "SQLITE_CONSTRAINT_UNIQUE")
          throw conversationBusy(conversationId, undefined, error);
        throw error;
      }
      const parts: Message["parts"] = [{ type: "text", text }];
      const messageId = input.followupId ?? `m_${Bun.randomUUIDv7()}`;
      if (input.followupId !== undefined) {
        const taken = this.#db.orm
          .delete(queuedMessages)
          .where(eq(queuedMessages.id, input.followupId))
          .returning()
          .all();
        // another caller started this follow-up already: this claim must not run it twice
        if (taken.length === 0)
          throw new StoreError("conflict", `follow-up "${input.followupId}" was already started`);
      }
      statements.insertMessage.run({
        id: messageId,
        conversationId,
        turnId,
        role: "user",
        parts: JSON.stringify(parts),
        now,
      });
      statements.touchConversation.run({ id: conversationId, now });
      const message: Message = {
        id: messageId,
        conversationId,
        turnId,
        role: "user",
        parts,
        createdAt: new Date(now).toISOString(),
      };
      return { turn: toTurn(turnRow), message };
    });
  }

  async get(id: string): Promise<Turn | undefined> {
    const row = this.#db.read(() => this.#statements.turnById.get({ id }));
    return row ? toTurn(row) : undefined;
  }

  async setStatus(id: string, status: TurnStatus, error?: string | null): Promise<Turn> {
    const parsed = TurnStatus.safeParse(status);
    if (!parsed.success)
      throw invalidFieldOf("status", status, `must be one of ${TurnStatus.options.join(", ")}`);
    const errorText =
      error === undefined || error === null
        ? error
        : error.length > maxTurnErrorLength
          ? `${error.slice(0, maxTurnErrorLength)}… (truncated)`
          : error;
    // One changing statement, the UPDATE of an unfinished turn; only when it changed nothing is the
    // turn read, to say why. Inside a group commit it needs no savepoint.
    return this.#db.write(
      () => {
        const now = this.#db.now();
        const row = (
          errorText === undefined
            ? this.#statements.setTurnStatus.get({ id, status: parsed.data, now })
            : this.#statements.setTurnStatusAndError.get({ id, status: parsed.data, error: errorText, now })
        ) as TurnRow | undefined;
        if (row !== undefined) return toTurn(row);
        const current = this.#statements.turnById.get({ id });
        if (!current) throw notFound("turn", id);
        const from = current.status as TurnStatus;
        throw new StoreError(
          "invalid_transition",
          `turn "${id}" is already ${from}; it cannot become ${status}`,
          {
            details: { turnId: id, from, to: status },
          },
        );
      },
      { oneChange: true },
    );
  }

  async active(conversationId: string): Promise<Turn | undefined> {
    const row = this.#db.read(() => this.#activeRow(conversationId));
    return row ? toTurn(row) : undefined;
  }

  /** Oldest first. */
  async listUnfinished(): Promise<Turn[]> {
    const rows = this.#db.read(() =>
      this.#db.orm
        .select()
        .from(turns)
        .where(sql`${turns.status} in ${unfinishedStatusesSql}`)
        .orderBy(asc(turns.createdAt), asc(turns.id))
        .all(),
    );
    return rows.map(toTurn);
  }

  /** SQLite turns record no instance: one host per database file recovers every unfinished turn at start. */
  async adoptUnfinished(_instanceId: string): Promise<Turn[]> {
    return [];
  }

  #activeRow(conversationId: string): TurnRow | undefined {
    return this.#statements.activeTurn.get({ conversationId });
  }
}
