import type { ConversationEvent } from "@dispatch/wire";
import { limits } from "@dispatch/wire";
import { type Checked, checkEvent, eventPage } from "../event-log.ts";
import { checkInteger } from "../field-checks.ts";
import { invalidField, notFound } from "../store-error.ts";
import type { EventLog, NewEvent } from "../types.ts";
import type { PgStoreDatabase } from "./pg-database.ts";

/**
 * The event log in PostgreSQL. An append is one statement: it moves `conversations.last_seq` by the
 * batch's size (which locks that row until commit, so concurrent appenders on any host queue up
 * behind each other) and inserts the rows numbered from the old value. A missing conversation moves
 * no row and inserts nothing. One round trip, and atomic on its own.
 */
export class PgEventLog implements EventLog {
  readonly #db: PgStoreDatabase;
  readonly #maxPayloadBytes: number;
  readonly #onAppended: ((count: number) => void) | undefined;

  constructor(
    db: PgStoreDatabase,
    options: { maxPayloadBytes?: number; onAppended?: (count: number) => void } = {},
  ) {
    this.#db = db;
    this.#maxPayloadBytes = options.maxPayloadBytes ?? limits.eventPayloadBytes;
    this.#onAppended = options.onAppended;
  }

  async append(conversationId: string, event: NewEvent): Promise<ConversationEvent> {
    const [appended] = await this.#appendChecked(conversationId, [checkEvent(event, this.#maxPayloadBytes)]);
    return appended as ConversationEvent;
  }

  async appendMany(conversationId: string, batch: readonly NewEvent[]): Promise<ConversationEvent[]> {
    if (!Array.isArray(batch)) throw invalidField("events", "must be an array");
    if (batch.length === 0) return [];
    const checked = batch.map((event) => checkEvent(event, this.#maxPayloadBytes));
    return this.#appendChecked(conversationId, checked);
  }

  async listAfter(
    conversationId: string,
    afterSeq: number,
    limit: number = eventPage.default,
  ): Promise<ConversationEvent[]> {
    checkInteger("afterSeq", afterSeq, { min: 0 });
    checkInteger("limit", limit, { min: 1, max: eventPage.max });
    const rows = (await this.#db.q`
      select seq, type, turn_id, at, data from events
      where conversation_id = ${conversationId} and seq > ${afterSeq}
      order by seq limit ${limit}`.values()) as Array<[number, string, string | null, string, string]>;
    const out: ConversationEvent[] = new Array(rows.length);
    // Events of one batch share their `at`; rendering each distinct time once saves most Date work.
    let lastAt = "";
    let lastIso = "";
    for (let i = 0; i < rows.length; i++) {
      const [seq, type, turnId, at, data] = rows[i] as [number, string, string | null, string, string];
      if (at !== lastAt) {
        lastAt = at;
        lastIso = new Date(Number(at)).toISOString();
      }
      out[i] = { seq, type, turnId, at: lastIso, data: JSON.parse(data) as Record<string, unknown> };
    }
    return out;
  }

  /** 0 for a conversation with no events (or none at all). */
  async lastSeq(conversationId: string): Promise<number> {
    const [row] = await this.#db.q`select last_seq from conversations where id = ${conversationId}`;
    return row === undefined ? 0 : Number(row.last_seq);
  }

  async #appendChecked(conversationId: string, checked: readonly Checked[]): Promise<ConversationEvent[]> {
    const at = this.#db.now();
    const n = checked.length;
    const seqs = await this.#db.write(
      async (q) => {
        if (n === 1) {
          const e = checked[0] as Checked;
          const rows = await q`
          with moved as (
            update conversations set last_seq = last_seq + 1 where id = ${conversationId} returning last_seq)
          insert into events (conversation_id, seq, type, turn_id, at, data)
          select ${conversationId}, moved.last_seq, ${e.type}, ${e.turnId}, ${at}, ${e.json} from moved
          returning seq`.values();
          return rows as Array<[number]>;
        }
        const rows = await q`
        with moved as (
          update conversations set last_seq = last_seq + ${n} where id = ${conversationId} returning last_seq)
        insert into events (conversation_id, seq, type, turn_id, at, data)
        select ${conversationId}, moved.last_seq - ${n} + e.ord, e.type, e.turn_id, ${at}, e.data
        from moved, unnest(${checked.map((e) => e.type)}::text[], ${checked.map((e) => e.turnId)}::text[],
          ${checked.map((e) => e.json)}::text[]) with ordinality as e(type, turn_id, data, ord)
        order by e.ord
        returning seq`.values();
        return rows as Array<[number]>;
      },
      { single: true },
    );
    if (seqs.length === 0) throw notFound("conversation", conversationId);
    const first = Math.min(...seqs.map((row) => row[0]));
    const iso = new Date(at).toISOString();
    const out = checked.map(
      (e, i): ConversationEvent => ({
        seq: first + i,
        type: e.type,
        turnId: e.turnId,
        at: iso,
        data: e.data,
      }),
    );
    this.#onAppended?.(out.length);
    return out;
  }
}
