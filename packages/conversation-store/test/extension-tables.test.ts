import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHost, defineExtension, StartupError } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { eq, sql } from "drizzle-orm";
import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import {
  type ConversationStore,
  conversationStoreExtension,
  conversationStoreRef,
  extensionJournalTable,
  prepareStatement,
} from "../src/index.ts";
import { archiveEntries } from "./fixtures/extension-schemas/archive/schema.ts";
import * as notesSchema from "./fixtures/extension-schemas/notes/schema.ts";
import { coreMigrationCount, migrationsOf, schemaExtension } from "./fixtures/schema-extensions.ts";
import { rejectionOf } from "./fixtures/temp-store.ts";

const { notesItems } = notesSchema;
const hosts: TestHost[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

async function start(extensions: Parameters<typeof createTestHost>[0]["extensions"], dataDir?: string) {
  const host = await createTestHost({ extensions: [conversationStoreExtension, ...extensions], dataDir });
  hosts.push(host);
  return host;
}

async function stop(host: TestHost): Promise<void> {
  hosts.splice(hosts.indexOf(host), 1);
  await host.stop();
}

/** What is on disk, read through a second (read-only) connection, as another process would. */
function peek<T>(dataDir: string, sql: string): T[] {
  const db = new Database(join(dataDir, "dispatch.db"), { readonly: true });
  try {
    return db.query(sql).all() as T[];
  } finally {
    db.close();
  }
}

function tables(dataDir: string): string[] {
  return peek<{ name: string }>(
    dataDir,
    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
  ).map((row) => row.name);
}

function journal(dataDir: string): string[] {
  return peek<{ extension_id: string; tag: string }>(
    dataDir,
    `SELECT extension_id, tag FROM "${extensionJournalTable}" ORDER BY rowid`,
  ).map((row) => `${row.extension_id}/${row.tag}`);
}

/** A copy of the `notes` migrations as they were before 0001 was generated. */
function notesAtFirstMigration(): string {
  const folder = join(tempDir("dispatch-notes-v1-"), "drizzle");
  cpSync(migrationsOf("notes"), folder, { recursive: true });
  rmSync(join(folder, "0001_item_pinned.sql"));
  rmSync(join(folder, "meta", "0001_snapshot.json"));
  const journalPath = join(folder, "meta", "_journal.json");
  const parsed = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: unknown[] };
  writeFileSync(journalPath, JSON.stringify({ ...parsed, entries: parsed.entries.slice(0, 1) }));
  return folder;
}

async function startupProblems(promise: Promise<unknown>): Promise<string> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(StartupError);
  return (error as StartupError).problems.map((p) => `${p.extensionId}: ${p.message}`).join("\n");
}

describe("extension-owned tables", () => {
  test("a contributed table exists once the store is active, and its rows survive a restart", async () => {
    const dataDir = tempDir("dispatch-notes-");
    const first = await start([schemaExtension("notes")], dataDir);
    expect(tables(dataDir)).toContain("notes_items");
    const db = first.get(conversationStoreRef).database(notesSchema);
    await db.insert(notesItems).values({ text: "remember the milk" });
    const health = first.host.status().extensions.find((e) => e.id === "conversation-store")?.health;
    expect(health).toMatchObject({ extensionMigrationsApplied: { notes: 2 } });
    await stop(first);

    const second = await start([schemaExtension("notes")], dataDir);
    const again = second.get(conversationStoreRef).database(notesSchema);
    expect(await again.select({ text: notesItems.text, pinned: notesItems.pinned }).from(notesItems)).toEqual(
      [{ text: "remember the milk", pinned: false }],
    );
    expect(journal(dataDir)).toEqual(["notes/0000_init", "notes/0001_item_pinned"]);
  });

  test("a migration added in a later version applies once, on top of the rows already there", async () => {
    const v1 = notesAtFirstMigration();
    const dataDir = tempDir("dispatch-notes-");
    const first = await start([schemaExtension("notes", { folder: v1 })], dataDir);
    const columns = () =>
      peek<{ name: string }>(dataDir, "PRAGMA table_info(notes_items)").map((c) => c.name);
    expect(columns()).not.toContain("pinned");
    // Version 1 of `notes` knew no `pinned`: write as it would have.
    const v1Handle = first.get(conversationStoreRef).database({});
    await v1Handle.run(sql`INSERT INTO notes_items (text) VALUES (${"written by v1"})`);
    await stop(first);

    const second = await start([schemaExtension("notes")], dataDir);
    expect(columns()).toContain("pinned");
    const store = second.get(conversationStoreRef);
    expect(await store.database(notesSchema).select().from(notesItems)).toEqual([
      { id: 1, text: "written by v1", workspaceId: null, pinned: false },
    ]);
    await stop(second);

    const third = await start([schemaExtension("notes")], dataDir);
    const health = third.host.status().extensions.find((e) => e.id === "conversation-store")?.health;
    expect(health).toMatchObject({ extensionMigrationsApplied: { notes: 0 } });
    expect(journal(dataDir)).toEqual(["notes/0000_init", "notes/0001_item_pinned"]);
  });

  test("contributors migrate in dependency order, after the core, each with its own journal", async () => {
    // Listed first and first by name, `archive` still migrates after `notes`, which it depends on: its
    // 0001 reads `notes_items`.
    const host = await start([
      schemaExtension("archive", { dependsOn: ["notes"] }),
      schemaExtension("notes"),
    ]);
    expect(journal(host.dataDir)).toEqual([
      "notes/0000_init",
      "notes/0001_item_pinned",
      "archive/0000_init",
      "archive/0001_copy_notes",
    ]);
    expect(peek(host.dataDir, "SELECT count(*) AS n FROM __drizzle_migrations")).toEqual([
      { n: coreMigrationCount },
    ]);
    const db = host.get(conversationStoreRef).database({ archiveEntries });
    expect(await db.select().from(archiveEntries)).toEqual([]);
  });

  test("without the dependency, the order is by id and the migration that needs the other's table fails", async () => {
    const problems = await startupProblems(start([schemaExtension("archive"), schemaExtension("notes")]));
    expect(problems).toContain('extension "archive": migration 0001_copy_notes.sql failed');
    expect(problems).toContain("no such table: notes_items");
  });

  test("a disabled contributor contributes nothing", async () => {
    const dataDir = tempDir("dispatch-disabled-");
    const host = createHost({
      extensions: [conversationStoreExtension, schemaExtension("notes")],
      config: {},
      dataDir,
      disabled: ["notes"],
    });
    await host.start();
    try {
      expect(host.status().extensions.find((e) => e.id === "notes")?.state).toBe("disabled");
      expect(tables(dataDir)).not.toContain("notes_items");
      // With nothing contributed, the database is exactly as without extensions: no journal table.
      expect(tables(dataDir)).not.toContain(extensionJournalTable);
    } finally {
      await host.stop();
    }
  });

  test("a table without the extension's prefix stops start-up, naming the extension, the file and the table", async () => {
    const problems = await startupProblems(start([schemaExtension("badly")]));
    expect(problems).toContain(
      'conversation-store: activation failed: extension "badly": migration 0000_init.sql creates table "calls", which is not one of its own; the tables, indexes, views and triggers of "badly" must be named "badly_…"',
    );
  });

  test("a migration that alters a core table stops start-up, and nothing of it stays", async () => {
    const dataDir = tempDir("dispatch-meddler-");
    const problems = await startupProblems(
      createTestHost({ extensions: [conversationStoreExtension, schemaExtension("meddler")], dataDir }),
    );
    expect(problems).toContain(
      'extension "meddler": migration 0001_alter_core.sql alters table "workspaces", which belongs to the core store',
    );
    const columns = peek<{ name: string }>(dataDir, "PRAGMA table_info(workspaces)").map((c) => c.name);
    expect(columns).not.toContain("meddler_flag");
    expect(tables(dataDir)).not.toContain("meddler_rows");
  });

  test("a failing migration stops start-up naming the extension and the file; its batch is rolled back", async () => {
    const dataDir = tempDir("dispatch-broken-");
    const problems = await startupProblems(
      createTestHost({
        extensions: [
          conversationStoreExtension,
          schemaExtension("notes"),
          schemaExtension("broken", { dependsOn: ["notes"] }),
        ],
        dataDir,
      }),
    );
    expect(problems).toContain(
      'conversation-store: activation failed: extension "broken": migration 0001_fails.sql failed: no such table: broken_missing',
    );
    // `notes` (migrated before it) stays; nothing of `broken` does, not even its good 0000.
    expect(journal(dataDir)).toEqual(["notes/0000_init", "notes/0001_item_pinned"]);
    expect(tables(dataDir)).not.toContain("broken_rows");
    expect(tables(dataDir)).not.toContain("broken_more");
  });
});

describe("store.transaction across core and extension tables", () => {
  /** A host with `notes`, and every `workspace.created` the bus delivered, with the tx state then. */
  async function notesHost() {
    const seen: string[] = [];
    const watcher = defineExtension({
      manifest: { id: "watcher", version: "0.0.1", dependsOn: ["conversation-store"] },
      activate(ctx) {
        ctx.bus.subscribe("workspace.created", ({ workspace }) => void seen.push(workspace.id));
      },
    });
    const host = await start([schemaExtension("notes"), watcher]);
    const store: ConversationStore = host.get(conversationStoreRef);
    return { host, store, db: store.database(notesSchema), seen };
  }

  const workspaceIds = (dataDir: string) =>
    peek<{ id: string }>(dataDir, "SELECT id FROM workspaces ORDER BY id").map((row) => row.id);

  test("a core write and an extension write commit together; the bus event comes after the commit", async () => {
    const { host, store, db, seen } = await notesHost();
    const result = await store.transaction(async () => {
      const workspace = await store.workspaces.create({ id: "proj", root: "/p" });
      await db.insert(notesItems).values({ text: "first note", workspaceId: workspace.id });
      // Inside: visible to the transaction, not yet to another connection, and not yet announced.
      expect(await db.select({ text: notesItems.text }).from(notesItems)).toEqual([{ text: "first note" }]);
      expect(workspaceIds(host.dataDir)).toEqual(["default"]);
      expect(seen).toEqual([]);
      return workspace.id;
    });
    expect(result).toBe("proj");
    expect(seen).toEqual(["proj"]);
    expect(workspaceIds(host.dataDir)).toEqual(["default", "proj"]);
    expect(peek(host.dataDir, "SELECT text, workspace_id FROM notes_items")).toEqual([
      { text: "first note", workspace_id: "proj" },
    ]);
  });

  test("a throw rolls back both writes, publishes nothing, and reaches the caller", async () => {
    const { host, store, db, seen } = await notesHost();
    const error = await rejectionOf(
      store.transaction(async () => {
        await store.workspaces.create({ id: "proj", root: "/p" });
        await db.insert(notesItems).values({ text: "lost", workspaceId: "proj" });
        throw new Error("changed my mind");
      }),
    );
    expect(error.message).toBe("changed my mind");
    expect(seen).toEqual([]);
    expect(await store.workspaces.get("proj")).toBeUndefined();
    expect(await db.select().from(notesItems)).toEqual([]);
    expect(workspaceIds(host.dataDir)).toEqual(["default"]);
  });

  test("calls from elsewhere wait for the transaction, so they never see rows it then rolls back", async () => {
    const { store, db } = await notesHost();
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let proceed!: () => void;
    const held = new Promise<void>((resolve) => {
      proceed = resolve;
    });
    const order: string[] = [];
    const tx = store.transaction(async () => {
      await store.workspaces.create({ id: "doomed", root: "/d" });
      await db.insert(notesItems).values({ text: "doomed" });
      entered();
      await held;
      order.push("rolling back");
      throw new Error("rollback");
    });
    await inside;
    // This test's own context is not the transaction's: these wait for it to end.
    const listed = store.workspaces.list().then((list) => {
      order.push("listed");
      return list.map((w) => w.id);
    });
    const notes = db
      .select()
      .from(notesItems)
      .then((rows) => {
        order.push("selected");
        return rows;
      });
    const written = store.workspaces.create({ id: "after", root: "/a" });
    proceed();
    await rejectionOf(tx);
    expect(await listed).toEqual(["default"]);
    expect(await notes).toEqual([]);
    expect((await written).id).toBe("after");
    expect(order).toEqual(["rolling back", "listed", "selected"]);
  });

  test("events queued with tx.emit are published after commit, in order with the store's", async () => {
    const { host, store } = await notesHost();
    const published: string[] = [];
    host.host.bus.subscribe(
      "test",
      "workspace.created",
      ({ workspace }) => void published.push(`created ${workspace.id}`),
    );
    host.host.bus.subscribe("test", "workspace.deleted", ({ id }) => void published.push(`deleted ${id}`));
    await store.transaction(async (tx) => {
      tx.emit("workspace.deleted", { id: "announced-first" });
      await store.workspaces.create({ id: "proj", root: "/p" });
      expect(published).toEqual([]);
    });
    expect(published).toEqual(["deleted announced-first", "created proj"]);
  });

  test("a failed call inside a transaction undoes only itself; the transaction goes on", async () => {
    const { store, db, seen } = await notesHost();
    await store.transaction(async () => {
      await store.workspaces.create({ id: "proj", root: "/p" });
      const duplicate = await rejectionOf(store.workspaces.create({ id: "proj", root: "/other" }));
      expect(duplicate.code).toBe("conflict");
      await db.insert(notesItems).values({ text: "kept" });
    });
    expect(seen).toEqual(["proj"]);
    expect((await store.workspaces.get("proj"))?.root).toBe("/p");
    expect(
      await db.select({ text: notesItems.text }).from(notesItems).where(eq(notesItems.text, "kept")),
    ).toEqual([{ text: "kept" }]);
  });

  test("transactions do not nest, and the extension handle does not open its own", async () => {
    const { store, db } = await notesHost();
    const nested = await rejectionOf(store.transaction(() => store.transaction(async () => 1)));
    expect(nested.code).toBe("conflict");
    expect(nested.message).toContain("does not nest");
    const own = await rejectionOf(db.transaction(async () => 1));
    expect(own.code).toBe("invalid_request");
    expect(own.message).toContain("use store.transaction(fn)");
    // Neither left a transaction open.
    expect(await store.transaction(async () => "ok")).toBe("ok");
  });

  test("the handle serves drizzle's relational queries and batches, typed by the schema", async () => {
    const { store, db } = await notesHost();
    const [first, second] = await db.batch([
      db.insert(notesItems).values({ text: "one" }).returning({ id: notesItems.id }),
      db.insert(notesItems).values({ text: "two", pinned: true }).returning({ id: notesItems.id }),
    ]);
    expect([first, second]).toEqual([[{ id: 1 }], [{ id: 2 }]]);
    const pinned = await db.query.notesItems.findFirst({ where: eq(notesItems.pinned, true) });
    expect(pinned).toEqual({ id: 2, text: "two", workspaceId: null, pinned: true });
    const text: string | undefined = (await db.select().from(notesItems))[0]?.text;
    expect(text).toBe("one");
    // never called: only the compiler looks at it (`bun run typecheck` fails if an error goes away)
    const _typings = () => {
      const typed = store.database(notesSchema);
      // @ts-expect-error `text` is a string column
      void typed.insert(notesItems).values({ text: 1 });
      void store.transaction(async (tx) => {
        // @ts-expect-error not a bus event
        tx.emit("no.such.event", {});
        // @ts-expect-error `workspace.deleted` carries `{ id }`
        tx.emit("workspace.deleted", { workspace: "x" });
      });
      const answer: Promise<number> = store.transaction(async () => 42);
      return answer;
    };
  });

  test("a prepared statement runs with its placeholders' values, and joins a transaction like any query", async () => {
    const { store, db } = await notesHost();
    const p = sql.placeholder;
    const add = prepareStatement<unknown>(
      store.dialect,
      "notes_add",
      db.insert(notesItems).values({ text: p("text"), workspaceId: p("workspaceId") }),
    );
    const ofWorkspace = prepareStatement<Array<{ text: string }>>(
      store.dialect,
      "notes_of_workspace",
      db
        .select({ text: notesItems.text })
        .from(notesItems)
        .where(eq(notesItems.workspaceId, p("workspaceId")))
        .orderBy(notesItems.id),
    );
    await add({ text: "one", workspaceId: "a" });
    await add({ text: "two", workspaceId: "b" });
    await add({ text: "three", workspaceId: "a" });
    expect(await ofWorkspace({ workspaceId: "a" })).toEqual([{ text: "one" }, { text: "three" }]);
    expect(await ofWorkspace({ workspaceId: "none" })).toEqual([]);
    const thrown = await rejectionOf(
      store.transaction(async () => {
        await add({ text: "undone", workspaceId: "a" });
        expect((await ofWorkspace({ workspaceId: "a" })).length).toBe(3);
        throw new Error("roll it back");
      }),
    );
    expect(thrown.message).toBe("roll it back");
    expect(await ofWorkspace({ workspaceId: "a" })).toEqual([{ text: "one" }, { text: "three" }]);
  });

  test("database(schema) refuses a core table and a table no migration created", async () => {
    const { store } = await notesHost();
    const core = sqliteTable("workspaces", { id: text("id").primaryKey() });
    expect(() => store.database({ core })).toThrow('table "workspaces" belongs to the core store');
    const missing = sqliteTable("notes_missing", { id: text("id").primaryKey() });
    expect(() => store.database({ missing })).toThrow('table "notes_missing" is not in the database');
  });
});
