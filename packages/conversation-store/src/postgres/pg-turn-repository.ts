import { type Message, TurnStatus } from "@dispatch/wire";
import { invalidFieldOf } from "../field-checks.ts";
import { checkPrompt, conversationBusy, followupsQueued } from "../repository-inputs.ts";
import { notFound, StoreError } from "../store-error.ts";
import { maxTurnErrorLength } from "../turn-repository.ts";
import type { Turn, TurnRepository } from "../types.ts";
import { type PgStoreDatabase, pgCode, pgErrors } from "./pg-database.ts";
import { type Row, turnOf } from "./pg-rows.ts";

/**
 * Turns in PostgreSQL. The claim locks its conversation's row, so two hosts claiming the same
 * conversation take turns: the second sees the first's turn and answers `conversation_busy` (the
 * partial unique index would refuse it anyway). Each turn records the store instance that claimed
 * it, so the turns of a host that died can be found and adopted by a survivor.
 */
export class PgTurnRepository implements TurnRepository {
  readonly #db: PgStoreDatabase;
  readonly #instanceId: string;
  readonly #maxMessageBytes: number;

  constructor(db: PgStoreDatabase, instanceId: string, maxMessageBytes: number) {
    this.#db = db;
    this.#instanceId = instanceId;
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
    try {
      return await this.#db.write(async (q) => {
        const [conversation] = await q`select id from conversations where id = ${conversationId} for update`;
        if (conversation === undefined) throw notFound("conversation", conversationId);
        const [active] = await q`
          select id from turns where conversation_id = ${conversationId}
          and status in ('queued', 'waiting', 'running')`;
        if (active !== undefined) throw conversationBusy(conversationId, String(active.id));
        if (input.refuseIfQueued) {
          const [queued] =
            await q`select 1 from queued_messages where conversation_id = ${conversationId} limit 1`;
          if (queued !== undefined) throw followupsQueued(conversationId);
        }
        const now = this.#db.now();
        const turnId = `t_${Bun.randomUUIDv7()}`;
        const [turnRow] = await q`
          insert into turns (id, conversation_id, status, prompt_started_at, error, instance_id, created_at, updated_at)
          values (${turnId}, ${conversationId}, 'queued', ${Math.trunc(input.promptStartedAt)}, null,
            ${this.#instanceId}, ${now}, ${now})
          returning *`;
        const parts: Message["parts"] = [{ type: "text", text }];
        const messageId = input.followupId ?? `m_${Bun.randomUUIDv7()}`;
        if (input.followupId !== undefined) {
          const taken = await q`delete from queued_messages where id = ${input.followupId} returning id`;
          // another caller started this follow-up already: this claim must not run it twice
          if (taken.length === 0)
            throw new StoreError("conflict", `follow-up "${input.followupId}" was already started`);
        }
        await q`
          with inserted as (
            insert into messages (id, conversation_id, turn_id, role, parts, created_at)
            values (${messageId}, ${conversationId}, ${turnId}, 'user', ${JSON.stringify(parts)}, ${now})
            returning conversation_id)
          update conversations set updated_at = ${now} where id in (select conversation_id from inserted)`;
        const message: Message = {
          id: messageId,
          conversationId,
          turnId,
          role: "user",
          parts,
          createdAt: new Date(now).toISOString(),
        };
        return { turn: turnOf(turnRow as Row), message };
      });
    } catch (error) {
      // The partial unique index caught a claim the check did not see (it cannot, given the row lock,
      // but the index is the last word).
      if (pgCode(error) === pgErrors.uniqueViolation)
        throw conversationBusy(conversationId, undefined, error);
      throw error;
    }
  }

  async get(id: string): Promise<Turn | undefined> {
    const [row] = await this.#db.q`select * from turns where id = ${id}`;
    return row === undefined ? undefined : turnOf(row);
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
    const now = this.#db.now();
    const keepError = errorText === undefined;
    const [row] = await this.#db.write(
      (q) => q`
        update turns set status = ${parsed.data}, updated_at = ${now},
          error = case when ${keepError}::boolean then error else ${errorText ?? null}::text end
        where id = ${id} and status in ('queued', 'waiting', 'running')
        returning *`,
      { single: true },
    );
    if (row !== undefined) return turnOf(row);
    const current = await this.get(id);
    if (current === undefined) throw notFound("turn", id);
    throw new StoreError(
      "invalid_transition",
      `turn "${id}" is already ${current.status}; it cannot become ${status}`,
      { details: { turnId: id, from: current.status, to: status } },
    );
  }

  async active(conversationId: string): Promise<Turn | undefined> {
    const [row] = await this.#db.q`
      select * from turns where conversation_id = ${conversationId} and status in ('queued', 'waiting', 'running')`;
    return row === undefined ? undefined : turnOf(row);
  }

  /** Oldest first. */
  async listUnfinished(): Promise<Turn[]> {
    const rows: Row[] = await this.#db.q`
      select * from turns where status in ('queued', 'waiting', 'running') order by created_at, id collate "C"`;
    return rows.map(turnOf);
  }

  async adoptUnfinished(instanceId: string): Promise<Turn[]> {
    // One statement: a second survivor adopting at the same time waits for these rows, then finds
    // them no longer the dead instance's and takes none of them.
    const rows: Row[] = await this.#db.write(
      (q) => q`
        update turns set instance_id = ${this.#instanceId}
        where instance_id = ${instanceId} and status in ('queued', 'waiting', 'running')
        returning *`,
      { single: true },
    );
    return rows
      .map(turnOf)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }
}
