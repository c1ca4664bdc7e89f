import { checkUtf8Bytes } from "../field-checks.ts";
import { invalidField, notFound } from "../store-error.ts";
import type { FollowupRepository, QueuedMessage } from "../types.ts";
import { type PgStoreDatabase, pgCode, pgErrors } from "./pg-database.ts";
import { queuedOf, type Row } from "./pg-rows.ts";

/** Follow-up messages in PostgreSQL, taken oldest first (by the identity `seq`). */
export class PgFollowupRepository implements FollowupRepository {
  readonly #db: PgStoreDatabase;
  readonly #maxMessageBytes: number;

  constructor(db: PgStoreDatabase, maxMessageBytes: number) {
    this.#db = db;
    this.#maxMessageBytes = maxMessageBytes;
  }

  async enqueue(input: { conversationId: string; text: string }): Promise<QueuedMessage> {
    if (typeof input.text !== "string" || input.text.length === 0)
      throw invalidField("text", "must not be empty");
    checkUtf8Bytes("text", input.text, this.#maxMessageBytes);
    try {
      const [row] = await this.#db.write(
        (q) => q`
          insert into queued_messages (id, conversation_id, text, created_at)
          values (${`m_${Bun.randomUUIDv7()}`}, ${input.conversationId}, ${input.text}, ${this.#db.now()})
          returning *`,
        { single: true },
      );
      return queuedOf(row as Row);
    } catch (error) {
      if (pgCode(error) === pgErrors.foreignKeyViolation)
        throw notFound("conversation", input.conversationId);
      throw error;
    }
  }

  async peek(conversationId: string): Promise<QueuedMessage | undefined> {
    const [row] = await this.#db.q`
      select * from queued_messages where conversation_id = ${conversationId} order by seq limit 1`;
    return row === undefined ? undefined : queuedOf(row);
  }

  async remove(id: string): Promise<boolean> {
    const rows = await this.#db.write((q) => q`delete from queued_messages where id = ${id} returning id`, {
      single: true,
    });
    return rows.length > 0;
  }

  async conversationsWithQueued(): Promise<string[]> {
    const rows: Row[] = await this.#db.q`select distinct conversation_id from queued_messages`;
    return rows.map((r) => String(r.conversation_id));
  }
}
