import type { Conversation } from "@dispatch/wire";
import { checkInteger } from "../field-checks.ts";
import { decodeCursor, maxPageItems, pageFrom } from "../page-cursor.ts";
import { checkNewConversation } from "../repository-inputs.ts";
import { notFound } from "../store-error.ts";
import type { ConversationRepository, Page, PageRequest } from "../types.ts";
import { type PgStoreDatabase, pgCode, pgErrors } from "./pg-database.ts";
import { conversationOf, type Row } from "./pg-rows.ts";

/** Conversations in PostgreSQL; status and active turn are derived from the turns in the query. */
export class PgConversationRepository implements ConversationRepository {
  readonly #db: PgStoreDatabase;

  constructor(db: PgStoreDatabase) {
    this.#db = db;
  }

  async create(input: {
    workspaceId: string;
    title?: string | null;
    provider: string;
    model: string;
    runner?: string;
  }): Promise<Conversation> {
    const { title, provider, model, runner } = checkNewConversation(input);
    const now = this.#db.now();
    const id = `c_${Bun.randomUUIDv7()}`;
    try {
      const [row] = await this.#db.write(
        (q) => q`
          insert into conversations (id, workspace_id, title, provider, model, runner, created_at, updated_at)
          values (${id}, ${input.workspaceId}, ${title}, ${provider}, ${model}, ${runner}, ${now}, ${now})
          returning *`,
        { single: true },
      );
      return conversationOf({ ...(row as Row), latest_status: null, active_turn_id: null });
    } catch (error) {
      if (pgCode(error) === pgErrors.foreignKeyViolation) throw notFound("workspace", input.workspaceId);
      throw error;
    }
  }

  async get(id: string): Promise<Conversation | undefined> {
    const [row] = await this.#db.q`
      select c.*,
        (select t.status from turns t where t.conversation_id = c.id
          order by t.created_at desc, t.id collate "C" desc limit 1) as latest_status,
        (select t.id from turns t where t.conversation_id = c.id
          and t.status in ('queued', 'waiting', 'running') limit 1) as active_turn_id
      from conversations c where c.id = ${id}`;
    return row === undefined ? undefined : conversationOf(row);
  }

  /** Newest first; `not_found` when the workspace does not exist. */
  async listByWorkspace(workspaceId: string): Promise<Conversation[]> {
    const rows: Row[] = await this.#db.q`
      select c.*,
        (select t.status from turns t where t.conversation_id = c.id
          order by t.created_at desc, t.id collate "C" desc limit 1) as latest_status,
        (select t.id from turns t where t.conversation_id = c.id
          and t.status in ('queued', 'waiting', 'running') limit 1) as active_turn_id
      from conversations c where c.workspace_id = ${workspaceId}
      order by c.created_at desc, c.id collate "C" desc`;
    if (rows.length === 0) {
      const [exists] = await this.#db.q`select 1 from workspaces where id = ${workspaceId}`;
      if (exists === undefined) throw notFound("workspace", workspaceId);
    }
    return rows.map(conversationOf);
  }

  /** Newest first, a keyset read after the cursor; `not_found` when the workspace does not exist. */
  async pageByWorkspace(workspaceId: string, request: PageRequest): Promise<Page<Conversation>> {
    const limit = checkInteger("limit", request.limit, { min: 1, max: maxPageItems });
    const after = request.cursor === undefined ? undefined : decodeCursor("conversations", request.cursor);
    const rows: Row[] = await this.#db.q`
      select c.*,
        (select t.status from turns t where t.conversation_id = c.id
          order by t.created_at desc, t.id collate "C" desc limit 1) as latest_status,
        (select t.id from turns t where t.conversation_id = c.id
          and t.status in ('queued', 'waiting', 'running') limit 1) as active_turn_id
      from conversations c where c.workspace_id = ${workspaceId}
      ${after === undefined ? this.#db.q`` : this.#db.q`and (c.created_at, c.id collate "C") < (${after.createdAt}, ${after.id}::text collate "C")`}
      order by c.created_at desc, c.id collate "C" desc limit ${limit + 1}`;
    if (rows.length === 0) {
      const [exists] = await this.#db.q`select 1 from workspaces where id = ${workspaceId}`;
      if (exists === undefined) throw notFound("workspace", workspaceId);
    }
    return pageFrom(rows, limit, conversationOf, (row) => ({
      k: "conversations",
      createdAt: Number(row.created_at),
      id: String(row.id),
    }));
  }
}
