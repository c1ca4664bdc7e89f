import { formatPath } from "@dispatch/kernel";
import { type Message, MessagePart } from "@dispatch/wire";
import { z } from "zod";
import { checkInteger, checkUtf8Bytes } from "./field-checks.ts";
import { decodeCursor, maxPageItems, pageFrom } from "./page-cursor.ts";
import type { messages } from "./schema.ts";
import type { Statements } from "./statements.ts";
import type { StoreDatabase } from "./store-database.ts";
import { invalidField, notFound } from "./store-error.ts";
import type { MessageRepository, Page, PageRequest } from "./types.ts";

const Parts = z.array(MessagePart);
const Role = z.enum(["user", "assistant", "tool"]);

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

  constructor(db: StoreDatabase, statements: Statements, maxMessageBytes: number) {
    this.#db = db;
    this.#statements = statements;
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
    const role = Role.safeParse(input.role);
    if (!role.success)
      throw invalidField("role", `must be one of user, assistant, tool, got ${String(input.role)}`);
    const parts = Parts.safeParse(input.parts);
    if (!parts.success) {
      const issue = parts.error.issues[0];
      const where = formatPath("parts", issue?.path ?? []);
      throw invalidField("parts", `is not a valid list of message parts (${where}: ${issue?.message})`);
    }
    const text = parts.data.map((part) => (part.type === "text" ? part.text : "")).join("");
    checkUtf8Bytes("parts", text, this.#maxMessageBytes);
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
        role: role.data,
        parts: JSON.stringify(parts.data),
        now,
      });
      statements.touchConversation.run({ id: conversationId, now });
      const message: Message = {
        id,
        conversationId,
        turnId,
        role: role.data,
        parts: parts.data,
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
      return this.#statements.messagesOf.all({ conversationId });
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
