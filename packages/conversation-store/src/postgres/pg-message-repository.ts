import type { Message, MessagePart } from "@dispatch/wire";
import { checkInteger } from "../field-checks.ts";
import { decodeCursor, maxPageItems, pageFrom } from "../page-cursor.ts";
import { checkMessage } from "../repository-inputs.ts";
import { invalidField, notFound } from "../store-error.ts";
import type { MessageRepository, Page, PageRequest } from "../types.ts";
import { type PgStoreDatabase, pgCode, pgErrors } from "./pg-database.ts";
import { messageOf, type Row } from "./pg-rows.ts";

/** Messages in PostgreSQL, listed in insertion order. */
export class PgMessageRepository implements MessageRepository {
  readonly #db: PgStoreDatabase;
  readonly #maxMessageBytes: number;

  constructor(db: PgStoreDatabase, maxMessageBytes: number) {
    this.#db = db;
    this.#maxMessageBytes = maxMessageBytes;
  }

  get maxTextBytes(): number {
    return this.#maxMessageBytes;
  }

  /** The text parts together are held to `maxMessageBytes`, like a user's message. */
  async append(input: {
    conversationId: string;
    turnId: string | null;
    role: Message["role"];
    parts: MessagePart[];
  }): Promise<Message> {
    const { role, parts } = checkMessage(input, this.#maxMessageBytes);
    const { conversationId, turnId } = input;
    if (turnId !== null) {
      // a turn never changes conversation, so this read need not share the insert's transaction
      const [turn] = await this.#db.q`select conversation_id from turns where id = ${turnId}`;
      if (turn === undefined) {
        const [conversation] = await this.#db.q`select 1 from conversations where id = ${conversationId}`;
        throw conversation === undefined
          ? notFound("conversation", conversationId)
          : notFound("turn", turnId);
      }
      if (turn.conversation_id !== conversationId) {
        const [conversation] = await this.#db.q`select 1 from conversations where id = ${conversationId}`;
        if (conversation === undefined) throw notFound("conversation", conversationId);
        throw invalidField("turnId", `names a turn of another conversation (${turn.conversation_id})`);
      }
    }
    const now = this.#db.now();
    const id = `m_${Bun.randomUUIDv7()}`;
    try {
      await this.#db.write(
        (q) => q`
          with inserted as (
            insert into messages (id, conversation_id, turn_id, role, parts, created_at)
            values (${id}, ${conversationId}, ${turnId}, ${role}, ${JSON.stringify(parts)}, ${now})
            returning conversation_id)
          update conversations set updated_at = ${now} where id in (select conversation_id from inserted)`,
        { single: true },
      );
    } catch (error) {
      if (pgCode(error) === pgErrors.foreignKeyViolation) {
        // the conversation (or, racing a delete, the turn) is gone
        const [conversation] = await this.#db.q`select 1 from conversations where id = ${conversationId}`;
        throw conversation === undefined
          ? notFound("conversation", conversationId)
          : notFound("turn", String(turnId));
      }
      throw error;
    }
    return {
      id,
      conversationId,
      turnId,
      role: role,
      parts: parts,
      createdAt: new Date(now).toISOString(),
    };
  }

  /** `not_found` when the conversation does not exist. */
  async list(conversationId: string): Promise<Message[]> {
    const rows: Row[] = await this.#db.q`
      select * from messages where conversation_id = ${conversationId} order by created_at, seq`;
    if (rows.length === 0) {
      const [conversation] = await this.#db.q`select 1 from conversations where id = ${conversationId}`;
      if (conversation === undefined) throw notFound("conversation", conversationId);
    }
    return rows.map(messageOf);
  }

  /** Oldest first, a keyset read after the cursor (created_at, then insertion order); `not_found` when the conversation does not exist. */
  async page(conversationId: string, request: PageRequest): Promise<Page<Message>> {
    const limit = checkInteger("limit", request.limit, { min: 1, max: maxPageItems });
    const after = request.cursor === undefined ? undefined : decodeCursor("messages", request.cursor);
    const rows: Row[] = await this.#db.q`
      select * from messages where conversation_id = ${conversationId}
      ${after === undefined ? this.#db.q`` : this.#db.q`and (created_at, seq) > (${after.createdAt}, ${after.row})`}
      order by created_at, seq limit ${limit + 1}`;
    if (rows.length === 0) {
      const [conversation] = await this.#db.q`select 1 from conversations where id = ${conversationId}`;
      if (conversation === undefined) throw notFound("conversation", conversationId);
    }
    return pageFrom(rows, limit, messageOf, (row) => ({
      k: "messages",
      createdAt: Number(row.created_at),
      row: Number(row.seq),
    }));
  }
}
