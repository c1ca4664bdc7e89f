import type { PermissionDecision, PermissionRules, Workspace } from "@dispatch/wire";
import { limits } from "@dispatch/wire";
import { and, count, desc, eq, sql } from "drizzle-orm";
import { checkInteger, checkSlug, checkText } from "./field-checks.ts";
import { decodeCursor, maxPageItems, pageFrom } from "./page-cursor.ts";
import { conversations, turns, unfinishedStatusesSql, workspaces } from "./schema.ts";
import type { StoreDatabase } from "./store-database.ts";
import { notFound, StoreError } from "./store-error.ts";
import type { Page, PageRequest, WorkspaceRepository } from "./types.ts";
import { checkNetwork, checkPermissions, parsePermissions } from "./workspace-fields.ts";

/** Id of the workspace that always exists. */
export const defaultWorkspaceId = "default";

type WorkspaceRow = typeof workspaces.$inferSelect;

function toWorkspace(row: WorkspaceRow): Workspace {
  return {
    id: row.id,
    name: row.name,
    root: row.root,
    hostId: row.hostId,
    starred: row.starred,
    network: row.network,
    permissions: parsePermissions(row.permissions),
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

function checkHostId(value: string | null | undefined): string | null {
  return value === null || value === undefined ? null : checkSlug("hostId", value);
}

/** Workspaces in SQLite; change events go out on the bus after commit. */
export class SqliteWorkspaceRepository implements WorkspaceRepository {
  readonly #db: StoreDatabase;
  // Prepared once: building a drizzle query costs far more than running it (GET /workspaces and the
  // idempotent star/unstar are hot paths of the API).
  readonly #byId;
  readonly #ordered;
  readonly #orderedAfter;
  readonly #setStar;
  /**
   * All workspaces as last read, and the database version they were read at. Reads (GET /workspaces,
   * the idempotent star) are far more frequent than workspace writes, and there are few workspaces.
   */
  #cache: { version: string; ordered: Workspace[]; byId: Map<string, Workspace> } | undefined;

  constructor(db: StoreDatabase) {
    this.#db = db;
    this.#byId = db.orm
      .select()
      .from(workspaces)
      .where(eq(workspaces.id, sql.placeholder("id")))
      .prepare();
    this.#ordered = db.orm
      .select()
      .from(workspaces)
      // Case-insensitive by name as people read it; the exact name and the id make the order total.
      .orderBy(desc(workspaces.starred), sql`lower(${workspaces.name})`, workspaces.name, workspaces.id)
      .prepare();
    const p = sql.placeholder;
    // The rows after a cursor in the same order: starred (1 before 0), then the rest compared as a row.
    // SQLite's own lower() is applied to the cursor's name, so both sides fold case the same way.
    this.#orderedAfter = db.orm
      .select()
      .from(workspaces)
      .where(
        sql`${workspaces.starred} < ${p("starred")} or (${workspaces.starred} = ${p("starred")} and (lower(${workspaces.name}), ${workspaces.name}, ${workspaces.id}) > (lower(${p("name")}), ${p("name")}, ${p("id")}))`,
      )
      .orderBy(desc(workspaces.starred), sql`lower(${workspaces.name})`, workspaces.name, workspaces.id)
      .limit(p("limit"))
      .prepare();
    this.#setStar = db.orm
      .update(workspaces)
      // Placeholders inside sql`` skip the column encoders, so `starred` is bound as 0/1 by the caller.
      .set({ starred: sql`${sql.placeholder("starred")}`, updatedAt: sql`${sql.placeholder("now")}` })
      .where(eq(workspaces.id, sql.placeholder("id")))
      .returning()
      .prepare();
  }

  /** Creates the `default` workspace unless it exists; true when it was created. */
  ensureDefault(root: string): boolean {
    return this.#db.write((emit) => {
      const now = this.#db.now();
      const row = this.#db.orm
        .insert(workspaces)
        .values({
          id: defaultWorkspaceId,
          name: "Default",
          root,
          hostId: null,
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing()
        .returning()
        .get();
      if (row) emit("workspace.created", { workspace: toWorkspace(row) });
      return row !== undefined;
    });
  }

  async create(input: {
    id: string;
    name?: string;
    root: string;
    hostId?: string | null;
    network?: boolean | null;
    permissions?: PermissionRules;
  }): Promise<Workspace> {
    const id = checkSlug("id", input.id);
    const name = checkText("name", input.name ?? id, { min: 1, max: limits.workspaceName });
    const root = checkText("root", input.root, { min: 1, max: limits.workspaceRoot });
    const hostId = checkHostId(input.hostId);
    const network = checkNetwork(input.network ?? null);
    const permissions = checkPermissions(input.permissions ?? {});
    return this.#db.write((emit) => {
      const now = this.#db.now();
      const row = this.#db.orm
        .insert(workspaces)
        .values({ id, name, root, hostId, network, permissions, createdAt: now, updatedAt: now })
        .onConflictDoNothing()
        .returning()
        .get();
      if (!row) throw new StoreError("conflict", `workspace "${id}" already exists`, { details: { id } });
      const workspace = toWorkspace(row);
      emit("workspace.created", { workspace });
      return workspace;
    });
  }

  async get(id: string): Promise<Workspace | undefined> {
    return this.#snapshot().byId.get(id);
  }

  async list(): Promise<Workspace[]> {
    return [...this.#snapshot().ordered];
  }

  /** The first page comes from the cached list; later ones are keyset reads after the cursor. */
  async page(request: PageRequest): Promise<Page<Workspace>> {
    const limit = checkInteger("limit", request.limit, { min: 1, max: maxPageItems });
    const positionOf = (w: Workspace) => ({
      k: "workspaces" as const,
      starred: w.starred,
      name: w.name,
      id: w.id,
    });
    if (request.cursor === undefined) {
      return pageFrom(this.#snapshot().ordered.slice(0, limit + 1), limit, (w) => w, positionOf);
    }
    const after = decodeCursor("workspaces", request.cursor);
    const rows = this.#db.read(() =>
      this.#orderedAfter.all({
        starred: after.starred ? 1 : 0,
        name: after.name,
        id: after.id,
        limit: limit + 1,
      }),
    );
    return pageFrom(rows.map(toWorkspace), limit, (w) => w, positionOf);
  }

  async update(
    id: string,
    patch: {
      name?: string;
      root?: string;
      hostId?: string | null;
      network?: boolean | null;
      permissions?: PermissionRules;
    },
  ): Promise<Workspace> {
    const changes: Partial<Pick<WorkspaceRow, "name" | "root" | "hostId" | "network" | "permissions">> = {};
    if (patch.name !== undefined)
      changes.name = checkText("name", patch.name, { min: 1, max: limits.workspaceName });
    if (patch.root !== undefined)
      changes.root = checkText("root", patch.root, { min: 1, max: limits.workspaceRoot });
    if (patch.hostId !== undefined) changes.hostId = checkHostId(patch.hostId);
    if (patch.network !== undefined) changes.network = checkNetwork(patch.network);
    if (patch.permissions !== undefined) changes.permissions = checkPermissions(patch.permissions);
    return this.#db.write((emit) => {
      const current = this.#row(id);
      const changed = (Object.keys(changes) as Array<keyof typeof changes>).some(
        (k) => changes[k] !== current[k],
      );
      if (!changed) return toWorkspace(current);
      const row = this.#db.orm
        .update(workspaces)
        .set({ ...changes, updatedAt: this.#db.now() })
        .where(eq(workspaces.id, id))
        .returning()
        .get() as WorkspaceRow;
      const workspace = toWorkspace(row);
      emit("workspace.updated", { workspace });
      return workspace;
    });
  }

  async setPermission(id: string, rule: string, decision: PermissionDecision): Promise<Workspace> {
    return this.#db.write((emit) => {
      const current = this.#row(id);
      const rules = parsePermissions(current.permissions);
      if (rules[rule] === decision) return toWorkspace(current);
      // Read, merge and write in one transaction: two rules remembered at once both survive.
      const permissions = checkPermissions({ ...rules, [rule]: decision });
      const row = this.#db.orm
        .update(workspaces)
        .set({ permissions, updatedAt: this.#db.now() })
        .where(eq(workspaces.id, id))
        .returning()
        .get() as WorkspaceRow;
      const workspace = toWorkspace(row);
      emit("workspace.updated", { workspace });
      return workspace;
    });
  }

  async star(id: string): Promise<Workspace> {
    return this.#setStarred(id, true);
  }

  async unstar(id: string): Promise<Workspace> {
    return this.#setStarred(id, false);
  }

  async delete(id: string): Promise<void> {
    if (id === defaultWorkspaceId) {
      throw new StoreError("conflict", `the "${defaultWorkspaceId}" workspace cannot be deleted`, {
        details: { id },
      });
    }
    this.#db.write((emit) => {
      this.#row(id);
      const active =
        this.#db.orm
          .select({ n: count() })
          .from(turns)
          .innerJoin(conversations, eq(turns.conversationId, conversations.id))
          .where(and(eq(conversations.workspaceId, id), sql`${turns.status} in ${unfinishedStatusesSql}`))
          .get()?.n ?? 0;
      if (active > 0) {
        throw new StoreError(
          "conflict",
          `workspace "${id}" has ${active} active turn(s); cancel them first`,
          {
            details: { id, activeTurns: active },
          },
        );
      }
      // Foreign keys with ON DELETE CASCADE remove conversations, turns, messages, events and locks.
      this.#db.orm.delete(workspaces).where(eq(workspaces.id, id)).run();
      emit("workspace.deleted", { id });
    });
  }

  async starredIds(): Promise<string[]> {
    const rows = this.#db.read(() =>
      this.#db.orm
        .select({ id: workspaces.id })
        .from(workspaces)
        .where(eq(workspaces.starred, true))
        .orderBy(workspaces.id)
        .all(),
    );
    return rows.map((row) => row.id);
  }

  /** The cached workspaces, re-read when the database changed since. */
  #snapshot(): { ordered: Workspace[]; byId: Map<string, Workspace> } {
    const version = this.#db.version();
    if (this.#cache?.version !== version) {
      // Frozen: the cached objects are handed to every caller.
      const ordered = this.#db.read(() => this.#ordered.all()).map((row) => Object.freeze(toWorkspace(row)));
      this.#cache = { version, ordered, byId: new Map(ordered.map((w) => [w.id, w])) };
    }
    return this.#cache;
  }

  #setStarred(id: string, starred: boolean): Workspace {
    // Already in the wanted state: answer from the cache, without taking the write lock.
    const before = this.#snapshot().byId.get(id);
    if (before?.starred === starred) return before;
    return this.#db.write((emit) => {
      const current = this.#row(id);
      if (current.starred === starred) return toWorkspace(current);
      const row = this.#setStar.get({ id, starred: starred ? 1 : 0, now: this.#db.now() }) as WorkspaceRow;
      const workspace = toWorkspace(row);
      emit(starred ? "workspace.starred" : "workspace.unstarred", { workspace });
      return workspace;
    });
  }

  /** The row, or `not_found`; only inside a transaction. */
  #row(id: string): WorkspaceRow {
    const row = this.#byId.get({ id });
    if (!row) throw notFound("workspace", id);
    return row;
  }
}
