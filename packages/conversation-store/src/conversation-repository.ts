import type { Conversation, TurnStatus } from "@dispatch/wire";
import { desc, eq, sql } from "drizzle-orm";
import { checkInteger } from "./field-checks.ts";
import { decodeCursor, maxPageItems, pageFrom } from "./page-cursor.ts";
import { checkNewConversation } from "./repository-inputs.ts";
import { conversations, unfinishedStatusesSql, workspaces } from "./schema.ts";
import type { StoreDatabase } from "./store-database.ts";
import { notFound } from "./store-error.ts";
import type { ConversationRepository, Page, PageRequest } from "./types.ts";

// Status and active turn are derived in the query, so they can never disagree with the turns table.
// The subqueries are written out: drizzle renders columns unqualified in a select list, and an
// unqualified "id" inside the subquery would name turns.id instead of the outer conversation's id.
const conversationColumns = {
  id: conversations.id,
  workspaceId: conversations.workspaceId,
  title: conversations.title,
  provider: conversations.provider,
  model: conversations.model,
  runner: conversations.runner,
  createdAt: conversations.createdAt,
  updatedAt: conversations.updatedAt,
  latestStatus: sql<TurnStatus | null>`(select t.status from turns t where t.conversation_id = conversations.id order by t.created_at desc, t.id desc limit 1)`,
  activeTurnId: sql<
    string | null
  >`(select t.id from turns t where t.conversation_id = conversations.id and t.status in ${unfinishedStatusesSql} limit 1)`,
};

interface ConversationRow {
  id: string;
  workspaceId: string;
  title: string | null;
  provider: string;
  model: string;
  runner: string;
  createdAt: number;
  updatedAt: number;
  latestStatus: TurnStatus | null;
  activeTurnId: string | null;
}

function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    title: row.title,
    provider: row.provider,
    model: row.model,
    runner: row.runner,
    status: row.latestStatus ?? "idle",
    activeTurnId: row.activeTurnId,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

/** Conversations in SQLite. */
export class SqliteConversationRepository implements ConversationRepository {
  readonly #db: StoreDatabase;
  // Prepared once: the orchestrator reads a conversation per turn, and building the query costs more
  // than running it.
  readonly #byId;
  readonly #ofWorkspace;
  readonly #firstOfWorkspace;
  readonly #ofWorkspaceAfter;
  readonly #workspaceExists;

  constructor(db: StoreDatabase) {
    this.#db = db;
    const p = sql.placeholder;
    this.#byId = db.orm
      .select(conversationColumns)
      .from(conversations)
      .where(eq(conversations.id, p("id")))
      .prepare();
    this.#ofWorkspace = db.orm
      .select(conversationColumns)
      .from(conversations)
      .where(eq(conversations.workspaceId, p("workspaceId")))
      .orderBy(desc(conversations.createdAt), desc(conversations.id))
      .prepare();
    const newestFirst = [desc(conversations.createdAt), desc(conversations.id)] as const;
    this.#firstOfWorkspace = db.orm
      .select(conversationColumns)
      .from(conversations)
      .where(eq(conversations.workspaceId, p("workspaceId")))
      .orderBy(...newestFirst)
      .limit(p("limit"))
      .prepare();
    this.#ofWorkspaceAfter = db.orm
      .select(conversationColumns)
      .from(conversations)
      .where(
        sql`${conversations.workspaceId} = ${p("workspaceId")} and (${conversations.createdAt}, ${conversations.id}) < (${p("createdAt")}, ${p("id")})`,
      )
      .orderBy(...newestFirst)
      .limit(p("limit"))
      .prepare();
    this.#workspaceExists = db.orm
      .select({ id: workspaces.id })
      .from(workspaces)
      .where(eq(workspaces.id, p("id")))
      .prepare();
  }

  async create(input: {
    workspaceId: string;
    title?: string | null;
    provider: string;
    model: string;
    runner?: string;
  }): Promise<Conversation> {
    const { title, provider, model, runner } = checkNewConversation(input);
    return this.#db.write(() => {
      this.#requireWorkspace(input.workspaceId);
      const now = this.#db.now();
      const row = this.#db.orm
        .insert(conversations)
        .values({
          id: `c_${Bun.randomUUIDv7()}`,
          workspaceId: input.workspaceId,
          title,
          provider,
          model,
          runner,
          createdAt: now,
          updatedAt: now,
        })
        .returning()
        .get();
      return toConversation({ ...row, latestStatus: null, activeTurnId: null });
    });
  }

  async get(id: string): Promise<Conversation | undefined> {
    const row = this.#db.read(() => this.#byId.get({ id }));
    return row ? toConversation(row) : undefined;
  }

  /** Newest first; `not_found` when the workspace does not exist. */
  async listByWorkspace(workspaceId: string): Promise<Conversation[]> {
    const rows = this.#db.read(() => {
      this.#requireWorkspace(workspaceId);
      return this.#ofWorkspace.all({ workspaceId });
    });
    return rows.map(toConversation);
  }

  /** Newest first, a keyset read after the cursor; `not_found` when the workspace does not exist. */
  async pageByWorkspace(workspaceId: string, request: PageRequest): Promise<Page<Conversation>> {
    const limit = checkInteger("limit", request.limit, { min: 1, max: maxPageItems });
    const after = request.cursor === undefined ? undefined : decodeCursor("conversations", request.cursor);
    const rows = this.#db.read(() => {
      this.#requireWorkspace(workspaceId);
      return after === undefined
        ? this.#firstOfWorkspace.all({ workspaceId, limit: limit + 1 })
        : this.#ofWorkspaceAfter.all({
            workspaceId,
            createdAt: after.createdAt,
            id: after.id,
            limit: limit + 1,
          });
    });
    return pageFrom(rows, limit, toConversation, (row) => ({
      k: "conversations",
      createdAt: row.createdAt,
      id: row.id,
    }));
  }

  #requireWorkspace(id: string): void {
    if (!this.#workspaceExists.get({ id })) throw notFound("workspace", id);
  }
}
