import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrationsFolder, type OpenedConversationStore, openConversationStore } from "../src/index.ts";
import { applyMigrations } from "../src/migrations.ts";
import { StoreDatabase } from "../src/store-database.ts";

/** How many core migrations drizzle-kit has generated (the journal is the source of truth). */
const coreMigrations = (
  JSON.parse(readFileSync(join(migrationsFolder, "meta", "_journal.json"), "utf8")) as { entries: unknown[] }
).entries.length;

const dirs: string[] = [];
const stores: OpenedConversationStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "dispatch-legacy-"));
  dirs.push(dir);
  return join(dir, "dispatch.db");
}

function open(path: string): OpenedConversationStore {
  const store = openConversationStore({ path });
  stores.push(store);
  return store;
}

function withRaw<T>(path: string, fn: (db: Database) => T): T {
  const db = new Database(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Columns and indexes of every table, comparable between two databases. */
function shape(path: string) {
  return withRaw(path, (db) => {
    const tables = db
      .query<{ name: string }, []>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != '__drizzle_migrations' ORDER BY name",
      )
      .all()
      .map((t) => t.name);
    return Object.fromEntries(
      tables.map((table) => [
        table,
        {
          columns: db.query(`PRAGMA table_info(${table})`).all(),
          indexes: db
            .query(`SELECT name, "unique", partial FROM pragma_index_list('${table}') ORDER BY name`)
            .all(),
          foreignKeys: db.query(`PRAGMA foreign_key_list(${table})`).all(),
        },
      ]),
    );
  });
}

const legacySql = readFileSync(join(import.meta.dir, "fixtures", "legacy-schema.sql"), "utf8");

describe("migrations", () => {
  test("a fresh database gets every migration, tracked in drizzle's journal", () => {
    const path = tempPath();
    const store = open(path);
    expect(store.migrations).toEqual({ baselined: false, applied: coreMigrations });
    store.close();
    expect(open(path).migrations).toEqual({ baselined: false, applied: 0 });
  });

  test("a legacy database without workspaces.starred is baselined at 0000 and brought up to date", async () => {
    const legacy = tempPath();
    withRaw(legacy, (db) => db.exec(legacySql));
    expect(
      withRaw(legacy, (db) =>
        db.query("SELECT name FROM pragma_table_info('workspaces') WHERE name = 'starred'").get(),
      ),
    ).toBeNull();

    const store = open(legacy);
    // baselined at 0000: every later migration applies
    expect(store.migrations).toEqual({ baselined: true, applied: coreMigrations - 1 });

    // Old rows read as not starred; everything else is as it was.
    expect(await store.workspaces.get("legacy")).toEqual({
      id: "legacy",
      name: "Legacy project",
      root: "/srv/legacy",
      hostId: "build-box",
      starred: false,
      network: null,
      permissions: {},
      createdAt: new Date(1700000001000).toISOString(),
      updatedAt: new Date(1700000002000).toISOString(),
    });
    expect((await store.workspaces.get("default"))?.root).toBe("/old/data/workspaces/default");
    expect(await store.conversations.get("c_legacy")).toMatchObject({
      title: "Old chat",
      status: "completed",
      activeTurnId: null,
    });
    expect((await store.messages.list("c_legacy"))[0]?.parts).toEqual([
      { type: "text", text: "hello from the past" },
    ]);
    expect((await store.events.listAfter("c_legacy", 0)).map((e) => [e.seq, e.type, e.data])).toEqual([
      [1, "turn.started", {}],
      [2, "turn.completed", { ok: true }],
    ]);
    // And the new column works.
    expect((await store.workspaces.star("legacy")).starred).toBe(true);
    expect((await store.events.append("c_legacy", { type: "x", turnId: null, data: {} })).seq).toBe(3);
    store.close();

    // The upgraded database has exactly the shape of a fresh one.
    const fresh = tempPath();
    open(fresh).close();
    expect(shape(legacy)).toEqual(shape(fresh));
    withRaw(legacy, (db) => {
      expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
      expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
      expect(db.query("SELECT count(*) AS n FROM __drizzle_migrations").get()).toEqual({ n: coreMigrations });
    });

    const again = open(legacy);
    expect(again.migrations).toEqual({ baselined: false, applied: 0 });
    expect(await again.workspaces.starredIds()).toEqual(["legacy"]);
  });

  test("a database with a workspaces table but not the rest of the schema is refused, untouched", () => {
    const path = tempPath();
    withRaw(path, (db) => db.exec("CREATE TABLE workspaces (id text PRIMARY KEY, name text, root text)"));
    let error: (Error & { code?: string }) | undefined;
    try {
      open(path);
    } catch (caught) {
      error = caught as Error & { code?: string };
    }
    expect(error?.code).toBe("store_schema_unknown");
    expect(error?.message).toContain("conversations");
    const tables = withRaw(path, (db) =>
      db
        .query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all()
        .map((t) => t.name),
    );
    expect(tables).toEqual(["workspaces"]);
  });
});

describe("future migrations", () => {
  test("a drizzle-style table rebuild of a parent table does not cascade-delete its children", async () => {
    const path = tempPath();
    const store = open(path);
    await store.workspaces.create({ id: "proj", root: "/p" });
    const conv = await store.conversations.create({ workspaceId: "proj", provider: "p", model: "m" });
    await store.events.append(conv.id, { type: "x", turnId: null, data: {} });
    store.close();

    // A copy of the real migrations plus a 0002 shaped like drizzle-kit's SQLite table rebuild.
    const folder = join(tempPath(), "..", "migrations");
    cpSync(migrationsFolder, folder, { recursive: true });
    const journalPath = join(folder, "meta", "_journal.json");
    const journal = JSON.parse(readFileSync(journalPath, "utf8")) as {
      entries: Array<Record<string, unknown>>;
    };
    const last = journal.entries.at(-1) as { when: number };
    journal.entries.push({
      idx: journal.entries.length,
      version: "6",
      when: last.when + 1,
      tag: "0002_rebuild",
      breakpoints: true,
    });
    writeFileSync(journalPath, JSON.stringify(journal));
    writeFileSync(
      join(folder, "0002_rebuild.sql"),
      [
        "PRAGMA foreign_keys=OFF;",
        "CREATE TABLE `__new_workspaces` (`id` text PRIMARY KEY NOT NULL, `name` text NOT NULL, `root` text NOT NULL, `host_id` text, `starred` integer DEFAULT false NOT NULL, `created_at` integer NOT NULL, `updated_at` integer NOT NULL);",
        'INSERT INTO `__new_workspaces`("id", "name", "root", "host_id", "starred", "created_at", "updated_at") SELECT "id", "name", "root", "host_id", "starred", "created_at", "updated_at" FROM `workspaces`;',
        "DROP TABLE `workspaces`;",
        "ALTER TABLE `__new_workspaces` RENAME TO `workspaces`;",
        "PRAGMA foreign_keys=ON;",
      ].join("--> statement-breakpoint\n"),
    );

    const db = StoreDatabase.open({ path, busyTimeoutMs: 1000 });
    try {
      expect(applyMigrations(db.sqlite, db.orm, folder)).toEqual({ baselined: false, applied: 1 });
      expect(db.sqlite.query("PRAGMA foreign_keys").get()).toEqual({ foreign_keys: 1 });
      expect(db.sqlite.query("SELECT count(*) AS n FROM conversations").get()).toEqual({ n: 1 });
      expect(db.sqlite.query("SELECT count(*) AS n FROM events").get()).toEqual({ n: 1 });
    } finally {
      db.close();
    }
  });
});
