import type { EventName } from "@dispatch/kernel";
import type { PermissionDecision, PermissionRules, Workspace } from "@dispatch/wire";
import { limits } from "@dispatch/wire";
import { checkInteger, checkSlug, checkText } from "../field-checks.ts";
import { decodeCursor, maxPageItems, pageFrom } from "../page-cursor.ts";
import type { Emit } from "../store-database.ts";
import { notFound, StoreError } from "../store-error.ts";
import type { Page, PageRequest, WorkspaceRepository } from "../types.ts";
import { checkNetwork, checkPermissions, parsePermissions } from "../workspace-fields.ts";
import { defaultWorkspaceId } from "../workspace-repository.ts";
import type { PgStoreDatabase, Queryable } from "./pg-database.ts";
import { type Row, workspaceOf } from "./pg-rows.ts";

/** The channel on which a host tells the others that a workspace changed (see `relayWorkspaceChanges`). */
export const workspaceChannel = "dispatch_workspaces";

/** What a workspace notification carries: who changed it, how, and which one (the rest is read). */
export interface WorkspaceNotice {
  origin: string;
  event: Extract<EventName, `workspace.${string}`>;
  id: string;
}

function checkHostId(value: string | null | undefined): string | null {
  return value === null || value === undefined ? null : checkSlug("hostId", value);
}

/**
 * Workspaces in PostgreSQL. Each change is one statement (or one transaction) that also notifies
 * the other hosts, delivered at its COMMIT, so every host's bus hears every workspace change. Reads
 * are not cached: another host may change a workspace at any time.
 */
export class PgWorkspaceRepository implements WorkspaceRepository {
  readonly #db: PgStoreDatabase;
  readonly #instanceId: string;

  constructor(db: PgStoreDatabase, instanceId: string) {
    this.#db = db;
    this.#instanceId = instanceId;
  }

  /** Creates the `default` workspace unless it exists; true when it was created. */
  async ensureDefault(root: string): Promise<boolean> {
    const now = this.#db.now();
    return this.#db.write(
      async (q, emit) => {
        const [row] = await q`
          with created as (
            insert into workspaces (id, name, root, host_id, created_at, updated_at)
            values (${defaultWorkspaceId}, 'Default', ${root}, null, ${now}, ${now})
            on conflict do nothing returning *)
          select created.*, pg_notify(${workspaceChannel}, ${this.#notice("workspace.created", defaultWorkspaceId)})
          from created`;
        if (row) emit("workspace.created", { workspace: workspaceOf(row) });
        return row !== undefined;
      },
      { single: true },
    );
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
    const now = this.#db.now();
    return this.#db.write(
      async (q, emit) => {
        const [row] = await q`
          with created as (
            insert into workspaces (id, name, root, host_id, network, permissions, created_at, updated_at)
            values (${id}, ${name}, ${root}, ${hostId}, ${network}, ${permissions}, ${now}, ${now})
            on conflict do nothing returning *)
          select created.*, pg_notify(${workspaceChannel}, ${this.#notice("workspace.created", id)})
          from created`;
        if (!row) throw new StoreError("conflict", `workspace "${id}" already exists`, { details: { id } });
        const workspace = workspaceOf(row);
        emit("workspace.created", { workspace });
        return workspace;
      },
      { single: true },
    );
  }

  async get(id: string): Promise<Workspace | undefined> {
    const [row] = await this.#db.q`select * from workspaces where id = ${id}`;
    return row === undefined ? undefined : workspaceOf(row);
  }

  async list(): Promise<Workspace[]> {
    const rows: Row[] = await this.#db.q`
      select * from workspaces
      order by starred desc, lower(name) collate "C", name collate "C", id collate "C"`;
    return rows.map(workspaceOf);
  }

  /** One page of `list()`'s order: a keyset read after the cursor (starred, name folded, name, id). */
  async page(request: PageRequest): Promise<Page<Workspace>> {
    const limit = checkInteger("limit", request.limit, { min: 1, max: maxPageItems });
    const after = request.cursor === undefined ? undefined : decodeCursor("workspaces", request.cursor);
    const rows: Row[] =
      after === undefined
        ? await this.#db.q`
            select * from workspaces
            order by starred desc, lower(name) collate "C", name collate "C", id collate "C" limit ${limit + 1}`
        : await this.#db.q`
            select * from workspaces
            where (starred < ${after.starred}) or (starred = ${after.starred}
              and (lower(name) collate "C", name collate "C", id collate "C")
                > (lower(${after.name}::text) collate "C", ${after.name}::text collate "C", ${after.id}::text collate "C"))
            order by starred desc, lower(name) collate "C", name collate "C", id collate "C" limit ${limit + 1}`;
    return pageFrom(
      rows.map(workspaceOf),
      limit,
      (w) => w,
      (w) => ({
        k: "workspaces",
        starred: w.starred,
        name: w.name,
        id: w.id,
      }),
    );
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
    const name =
      patch.name === undefined
        ? undefined
        : checkText("name", patch.name, { min: 1, max: limits.workspaceName });
    const root =
      patch.root === undefined
        ? undefined
        : checkText("root", patch.root, { min: 1, max: limits.workspaceRoot });
    const hostId = patch.hostId === undefined ? undefined : checkHostId(patch.hostId);
    const network = patch.network === undefined ? undefined : checkNetwork(patch.network);
    const permissions = patch.permissions === undefined ? undefined : checkPermissions(patch.permissions);
    return this.#db.write(async (q, emit) => {
      const current = await this.#lockedRow(q, id);
      const next = {
        name: name ?? String(current.name),
        root: root ?? String(current.root),
        hostId: hostId === undefined ? (current.host_id as string | null) : hostId,
        network: network === undefined ? (current.network as boolean | null) : network,
        permissions: permissions ?? String(current.permissions),
      };
      if (
        next.name === current.name &&
        next.root === current.root &&
        next.hostId === current.host_id &&
        next.network === current.network &&
        next.permissions === current.permissions
      ) {
        return workspaceOf(current);
      }
      const [row] = await q`
        update workspaces set name = ${next.name}, root = ${next.root}, host_id = ${next.hostId},
          network = ${next.network}, permissions = ${next.permissions}, updated_at = ${this.#db.now()}
        where id = ${id} returning *`;
      return this.#updated(q, emit, row as Row);
    });
  }

  async setPermission(id: string, rule: string, decision: PermissionDecision): Promise<Workspace> {
    return this.#db.write(async (q, emit) => {
      // The row lock makes read, merge and write one step: two rules remembered at once on two
      // hosts both survive.
      const current = await this.#lockedRow(q, id);
      const rules = parsePermissions(String(current.permissions));
      if (rules[rule] === decision) return workspaceOf(current);
      const permissions = checkPermissions({ ...rules, [rule]: decision });
      const [row] = await q`
        update workspaces set permissions = ${permissions}, updated_at = ${this.#db.now()}
        where id = ${id} returning *`;
      return this.#updated(q, emit, row as Row);
    });
  }

  /** Tells the other hosts and this host's bus that a workspace row changed. */
  async #updated(q: Queryable, emit: Emit, row: Row): Promise<Workspace> {
    const workspace = workspaceOf(row);
    await q`select pg_notify(${workspaceChannel}, ${this.#notice("workspace.updated", workspace.id)})`;
    emit("workspace.updated", { workspace });
    return workspace;
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
    await this.#db.write(async (q, emit) => {
      await this.#lockedRow(q, id);
      // A claim holds its conversation's row lock until it commits; taking them here means a claim
      // in flight on another host is either counted below or finds the conversation gone.
      await q`select id from conversations where workspace_id = ${id} for update`;
      const [count] = await q`
        select count(*)::int as n from turns t join conversations c on c.id = t.conversation_id
        where c.workspace_id = ${id} and t.status in ('queued', 'waiting', 'running')`;
      const active = Number(count?.n ?? 0);
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
      await q`delete from workspaces where id = ${id}`;
      await q`select pg_notify(${workspaceChannel}, ${this.#notice("workspace.deleted", id)})`;
      emit("workspace.deleted", { id });
    });
  }

  async starredIds(): Promise<string[]> {
    const rows: Row[] = await this.#db.q`select id from workspaces where starred order by id collate "C"`;
    return rows.map((row) => String(row.id));
  }

  async #setStarred(id: string, starred: boolean): Promise<Workspace> {
    const event = starred ? "workspace.starred" : "workspace.unstarred";
    const changed = await this.#db.write(
      async (q, emit) => {
        const [row] = await q`
          with changed as (
            update workspaces set starred = ${starred}, updated_at = ${this.#db.now()}
            where id = ${id} and starred <> ${starred} returning *)
          select changed.*, pg_notify(${workspaceChannel}, ${this.#notice(event, id)}) from changed`;
        if (row === undefined) return undefined;
        const workspace = workspaceOf(row);
        emit(event, { workspace });
        return workspace;
      },
      { single: true },
    );
    if (changed !== undefined) return changed;
    // Already in the wanted state (idempotent), or missing.
    const current = await this.get(id);
    if (current === undefined) throw notFound("workspace", id);
    return current;
  }

  /** The row, locked until the transaction ends, or `not_found`. */
  async #lockedRow(q: Queryable, id: string): Promise<Row> {
    const [row] = await q`select * from workspaces where id = ${id} for update`;
    if (!row) throw notFound("workspace", id);
    return row;
  }

  #notice(event: WorkspaceNotice["event"], id: string): string {
    const notice: WorkspaceNotice = { origin: this.#instanceId, event, id };
    return JSON.stringify(notice);
  }
}
