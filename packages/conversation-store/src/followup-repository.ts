import { asc, eq, sql } from "drizzle-orm";
import { checkUtf8Bytes } from "./field-checks.ts";
import { conversations, queuedMessages } from "./schema.ts";
import type { StoreDatabase } from "./store-database.ts";
import { invalidField, notFound } from "./store-error.ts";
import type { FollowupRepository, QueuedMessage } from "./types.ts";

/** Follow-up messages in SQLite, taken oldest first. */
export class SqliteFollowupRepository implements FollowupRepository {
  readonly #db: StoreDatabase;
  readonly #maxMessageBytes: number;
  // Prepared once: every finished turn looks for the next follow-up of its conversation.
  readonly #first;

  constructor(db: StoreDatabase, maxMessageBytes: number) {
    this.#db = db;
    this.#maxMessageBytes = maxMessageBytes;
    this.#first = db.orm
      .select()
      .from(queuedMessages)
      .where(eq(queuedMessages.conversationId, sql.placeholder("conversationId")))
      .orderBy(asc(queuedMessages.seq))
      .limit(1)
      .prepare();
  }

  async enqueue(input: { conversationId: string; text: string }): Promise<QueuedMessage> {
    if (typeof input.text !== "string" || input.text.length === 0)
      throw invalidField("text", "must not be empty");
    checkUtf8Bytes("text", input.text, this.#maxMessageBytes);
    return this.#db.write(() => {
      const exists = this.#db.orm
        .select({ id: conversations.id })
        .from(conversations)
        .where(eq(conversations.id, input.conversationId))
        .get();
      if (!exists) throw notFound("conversation", input.conversationId);
      const row = this.#db.orm
        .insert(queuedMessages)
        .values({
          id: `m_${Bun.randomUUIDv7()}`,
          conversationId: input.conversationId,
          text: input.text,
          createdAt: this.#db.now(),
        })
        .returning()
        .get();
      return toQueued(row);
    });
  }

  async peek(conversationId: string): Promise<QueuedMessage | undefined> {
    const row = this.#db.read(() => this.#first.get({ conversationId }));
    return row === undefined ? undefined : toQueued(row);
  }

  async remove(id: string): Promise<boolean> {
    return this.#db.write(
      () => this.#db.orm.delete(queuedMessages).where(eq(queuedMessages.id, id)).returning().all().length > 0,
    );
  }

  async conversationsWithQueued(): Promise<string[]> {
    const rows = this.#db.read(() =>
      this.#db.orm.selectDistinct({ id: queuedMessages.conversationId }).from(queuedMessages).all(),
    );
    return rows.map((r) => r.id);
  }
}

function toQueued(row: typeof queuedMessages.$inferSelect): QueuedMessage {
  return {
    id: row.id,
    conversationId: row.conversationId,
    text: row.text,
    createdAt: new Date(row.createdAt).toISOString(),
  };
}
