import type { Statement } from "bun:sqlite";
import type { Message, MessagePart } from "@dispatch/wire";
import { checkInteger } from "./field-checks.ts";
import { decodeCursor, maxPageItems, pageFrom } from "./page-cursor.ts";
import { checkMessage } from "./repository-inputs.ts";
import type { messages } from "./schema.ts";
import type { Statements } from "./statements.ts";
import type { StoreDatabase } from "./store-database.ts";
import { invalidField, notFound } from "./store-error.ts";
import type { MessageRepository, Page, PageRequest } from "./types.ts";

type MessageRow = typeof messages.$inferSelect;

function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    conversationId: row.conversationId,
    turnId: row.turnId,
    role: row.role as Message["role"],
    parts: JSON.parse(row.parts) as Message["parts"],
    createdAt: new Date(row.createdAt).toISOString(),
  };
}

/** Messages in SQLite, listed in insertion order. */
export class SqliteMessageRepository implements MessageRepository {
  readonly #db: StoreDatabase;
  readonly #statements: Statements;
  readonly #maxMessageBytes: number;

  readonly #history: Statement<MessageRow, [string]>;

  constructor(db: StoreDatabase, statements: Statements, maxMessageBytes: number) {
    this.#db = db;
    this.#statements = statements;
    this.#maxMessageBytes = maxMessageBytes;
    // Every turn reads its whole history: on bun:sqlite directly, as drizzle's row mapping was a third
    // of the read (bench/history.ts). Within one millisecond, insertion order: a follow-up's message
    // keeps the id it was queued with, which is older than the answer stored just before it.
    this.#history = db.sqlite.prepare(
      "SELECT id, conversation_id AS conversationId, turn_id AS turnId, role, parts, created_at AS createdAt FROM messages WHERE conversation_id = ? ORDER BY created_at, rowid",
    );
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
    const statements = this.#statements;
    return this.#db.write(() => {
      if (!statements.conversationExists.get({ id: conversationId })) {
        throw notFound("conversation", conversationId);
      }
      if (turnId !== null) {
        const turn = statements.turnById.get({ id: turnId });
        if (!turn) throw notFound("turn", turnId);
        if (turn.conversationId !== conversationId) {
          throw invalidField("turnId", `names a turn of another conversation (${turn.conversationId})`);
        }
      }
      const now = this.#db.now();
      const id = `m_${Bun.randomUUIDv7()}`;
      statements.insertMessage.run({
        id,
        conversationId,
        turnId,
        role: role,
        parts: JSON.stringify(parts),
        now,
      });
      statements.touchConversation.run({ id: conversationId, now });
      const message: Message = {
        id,
        conversationId,
        turnId,
        role: role,
        parts: parts,
        createdAt: new Date(now).toISOString(),
      };
      return message;
    });
  }

  /** `not_found` when the conversation does not exist. */
  async list(conversationId: string): Promise<Message[]> {
    const rows = this.#db.read(() => {
      if (!this.#statements.conversationExists.get({ id: conversationId })) {
        throw notFound("conversation", conversationId);
      }
      return this.#history.all(conversationId);
    });
    return rows.map(toMessage);
  }

  /** Oldest first, a keyset read after the cursor; `not_found` when the conversation does not exist. */
  async page(conversationId: string, request: PageRequest): Promise<Page<Message>> {
    const limit = checkInteger("limit", request.limit, { min: 1, max: maxPageItems });
    const after = request.cursor === undefined ? undefined : decodeCursor("messages", request.cursor);
    const statements = this.#statements;
    const rows = this.#db.read(() => {
      if (!statements.conversationExists.get({ id: conversationId })) {
        throw notFound("conversation", conversationId);
      }
      return after === undefined
        ? statements.firstMessagesOf.all({ conversationId, limit: limit + 1 })
        : statements.messagesOfAfter.all({
            conversationId,
            createdAt: after.createdAt,
            row: after.row,
            limit: limit + 1,
          });
    });
    return pageFrom(rows, limit, toMessage, (row) => ({
      k: "messages",
      createdAt: row.createdAt,
      row: row.row,
    }));
  }
}
