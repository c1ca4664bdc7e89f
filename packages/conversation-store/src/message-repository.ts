import type { Statement } from "bun:sqlite";
import type { Message, MessagePart } from "@dispatch/wire";
import { checkInteger } from "./field-checks.ts";
import { type CachedHistory, frozenMessage, HistoryCache } from "./history-cache.ts";
import { decodeCursor, maxPageItems, pageFrom } from "./page-cursor.ts";
import { checkMessage } from "./repository-inputs.ts";
import type { messages } from "./schema.ts";
import type { Statements } from "./statements.ts";
import type { StoreDatabase } from "./store-database.ts";
import { invalidField, notFound } from "./store-error.ts";
import type { MessageRepository, Page, PageRequest } from "./types.ts";

type MessageRow = typeof messages.$inferSelect;
/** A history row: the message and its rowid. */
type HistoryRow = MessageRow & { row: number };

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

  readonly #history: Statement<HistoryRow, [string]>;
  readonly #tail: Statement<HistoryRow, [string, number]>;
  readonly #cache = new HistoryCache();

  constructor(db: StoreDatabase, statements: Statements, maxMessageBytes: number) {
    this.#db = db;
    this.#statements = statements;
    this.#maxMessageBytes = maxMessageBytes;
    // Every turn reads its whole history: on bun:sqlite directly, as drizzle's row mapping was a third
    // of the read (bench/history.ts). Within one millisecond, insertion order: a follow-up's message
    // keeps the id it was queued with, which is older than the answer stored just before it.
    const columns =
      "id, conversation_id AS conversationId, turn_id AS turnId, role, parts, created_at AS createdAt, rowid AS row";
    this.#history = db.sqlite.prepare(
      `SELECT ${columns} FROM messages WHERE conversation_id = ? ORDER BY created_at, rowid`,
    );
    // What was added since a cached read: messages are only ever added, or go with their conversation.
    this.#tail = db.sqlite.prepare(
      `SELECT ${columns} FROM messages WHERE conversation_id = ? AND rowid > ? ORDER BY created_at, rowid`,
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

  /**
   * `not_found` when the conversation does not exist. The messages are frozen: a history read lately
   * is kept (`HistoryCache`) and the next read adds only the rows after it, for as long as the
   * store's read epoch holds (no other connection committed, nothing was rolled back).
   */
  async list(conversationId: string): Promise<Message[]> {
    return this.#db.read(() => {
      if (!this.#statements.conversationExists.get({ id: conversationId })) {
        this.#cache.drop(conversationId);
        throw notFound("conversation", conversationId);
      }
      const epoch = this.#db.readEpoch();
      const cached = this.#cache.get(conversationId, epoch);
      if (cached !== undefined) {
        const tail = this.#tail.all(conversationId, cached.lastRow);
        if (tail.length === 0) return [...cached.messages];
        // A row older than the last one read (a clock that went back) belongs before it: read it all.
        if ((tail[0] as HistoryRow).createdAt >= cached.lastCreatedAt)
          return this.#keep(conversationId, epoch, cached, tail);
      }
      return this.#keep(conversationId, epoch, undefined, this.#history.all(conversationId));
    });
  }

  /** Caches `before` (if any) with `rows` after it; returns a copy of the whole history. */
  #keep(
    conversationId: string,
    epoch: string,
    before: CachedHistory | undefined,
    rows: HistoryRow[],
  ): Message[] {
    const messages = before === undefined ? [] : [...before.messages];
    let bytes = before?.bytes ?? 0;
    for (const row of rows) {
      messages.push(frozenMessage(toMessage(row)));
      bytes += row.parts.length;
    }
    const last = rows.at(-1);
    this.#cache.set(conversationId, {
      epoch,
      messages,
      // `rows` is empty only for a history with no message yet (a cached one comes with its tail)
      lastRow: last?.row ?? 0,
      lastCreatedAt: last?.createdAt ?? Number.NEGATIVE_INFINITY,
      bytes,
    });
    return [...messages];
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
