import { afterEach, describe, expect, test } from "bun:test";
import { defineExtension, StartupError } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { SQL } from "bun";
import { eq, sql } from "drizzle-orm";
import {
  type ConversationStore,
  conversationStoreExtension,
  conversationStoreRef,
  dialectDatabase,
  extensionJournalTable,
  prepareStatement,
  storeSchemasPoint,
} from "../src/index.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing/postgres-server.ts";
import * as notesPg from "./fixtures/extension-schemas/notes/pg-schema.ts";
import * as notesSqlite from "./fixtures/extension-schemas/notes/schema.ts";
import { migrationsOf, postgresMigrationsOf, schemaExtension } from "./fixtures/schema-extensions.ts";
import { rejectionOf } from "./fixtures/temp-store.ts";

// Extension-owned tables on the Postgres store: the same contribution (with `migrations.postgres`),
// journal, naming rule, transaction and handle as on SQLite (test/extension-tables.test.ts).

const { notesItems } = notesPg;
const hosts: TestHost[] = [];
const databases: TestDatabase[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
  for (const database of databases.splice(0)) await database.drop();
});

async function database(): Promise<TestDatabase> {
  const made = await createTestDatabase();
  databases.push(made);
  return made;
}

const notes = () => schemaExtension("notes", { postgres: postgresMigrationsOf("notes") });

async function start(url: string, extensions = [notes()]): Promise<TestHost> {
  const host = await createTestHost({
    extensions: [conversationStoreExtension, ...extensions],
    config: { store: { url } },
  });
  hosts.push(host);
  return host;
}

async function peek<T>(url: string, text: string): Promise<T[]> {
  const sql = new SQL(url, { max: 1 });
  try {
    return [...(await sql.unsafe(text))] as T[];
  } finally {
    await sql.close();
  }
}

describe("extension tables on Postgres", () => {
  test("the extension's Postgres migrations run at activation and are journaled; a restart runs none", async () => {
    const { url } = await database();
    const first = await start(url);
    const store = first.get(conversationStoreRef) as ConversationStore & {
      extensionMigrations: unknown;
    };
    expect(store.dialect).toBe("postgres");
    expect(store.extensionMigrations).toEqual([{ extensionId: "notes", applied: ["0000_init"], edited: [] }]);
    const db = store.database(notesPg);
    await db.insert(notesItems).values({ text: "hello", workspaceId: "default" });
    expect(await db.select().from(notesItems)).toEqual([
      { id: 1, text: "hello", workspaceId: "default", pinned: false },
    ]);
    await first.stop();
    hosts.splice(0);
    const second = await start(url);
    const again = second.get(conversationStoreRef) as ConversationStore & { extensionMigrations: unknown };
    expect(again.extensionMigrations).toEqual([{ extensionId: "notes", applied: [], edited: [] }]);
    expect(await again.database(notesPg).select({ text: notesItems.text }).from(notesItems)).toEqual([
      { text: "hello" },
    ]);
    const journal = await peek<{ extension_id: string; tag: string }>(
      url,
      `SELECT extension_id, tag FROM "${extensionJournalTable}"`,
    );
    expect(journal).toEqual([{ extension_id: "notes", tag: "0000_init" }]);
  });

  test("store.transaction spans core and extension tables: both commit, events after COMMIT; a throw keeps neither", async () => {
    const { url } = await database();
    const host = await start(url);
    const store = host.get(conversationStoreRef);
    const db = store.database(notesPg);
    const seen: string[] = [];
    host.host.bus.subscribe("test", "workspace.created", ({ workspace }) => void seen.push(workspace.id));
    await store.transaction(async () => {
      await store.workspaces.create({ id: "kept", root: "/k" });
      await db.insert(notesItems).values({ text: "with kept", workspaceId: "kept" });
      // not published yet: the transaction has not committed
      expect(seen).toEqual([]);
    });
    expect(seen).toEqual(["kept"]);
    const error = await rejectionOf(
      store.transaction(async () => {
        await store.workspaces.create({ id: "lost", root: "/l" });
        await db.insert(notesItems).values({ text: "with lost", workspaceId: "lost" });
        throw new Error("changed my mind");
      }),
    );
    expect(error.message).toBe("changed my mind");
    expect(seen).toEqual(["kept"]);
    expect(await store.workspaces.get("lost")).toBeUndefined();
    expect((await db.select({ text: notesItems.text }).from(notesItems)).map((r) => r.text)).toEqual([
      "with kept",
    ]);
  });

  test("a repository call that fails inside a transaction undoes only itself (a savepoint)", async () => {
    const { url } = await database();
    const host = await start(url);
    const store = host.get(conversationStoreRef);
    await store.transaction(async () => {
      await store.workspaces.create({ id: "one", root: "/1" });
      expect((await rejectionOf(store.workspaces.create({ id: "one", root: "/again" }))).code).toBe(
        "conflict",
      );
      await store.workspaces.create({ id: "two", root: "/2" });
    });
    expect((await store.workspaces.list()).map((w) => w.id).sort()).toEqual(["default", "one", "two"]);
  });

  test("a prepared statement is named once and runs again with new values, inside a transaction too", async () => {
    const { url } = await database();
    const host = await start(url);
    const store = host.get(conversationStoreRef);
    const { db, tables } = dialectDatabase(store, { sqlite: notesSqlite, postgres: notesPg });
    const p = sql.placeholder;
    const add = prepareStatement<unknown>(
      store.dialect,
      "notes_add",
      db.insert(tables.notesItems).values({ text: p("text"), workspaceId: p("workspaceId") }),
    );
    const ofWorkspace = prepareStatement<Array<{ text: string }>>(
      store.dialect,
      "notes_of_workspace",
      db
        .select({ text: tables.notesItems.text })
        .from(tables.notesItems)
        .where(eq(tables.notesItems.workspaceId, p("workspaceId")))
        .orderBy(tables.notesItems.id),
    );
    await add({ text: "one", workspaceId: "a" });
    await add({ text: "two", workspaceId: "b" });
    expect(await ofWorkspace({ workspaceId: "a" })).toEqual([{ text: "one" }]);
    expect(await ofWorkspace({ workspaceId: "b" })).toEqual([{ text: "two" }]);
    await rejectionOf(
      store.transaction(async () => {
        await add({ text: "undone", workspaceId: "a" });
        expect((await ofWorkspace({ workspaceId: "a" })).length).toBe(2);
        throw new Error("roll it back");
      }),
    );
    expect(await ofWorkspace({ workspaceId: "a" })).toEqual([{ text: "one" }]);
  });

  test("outside a transaction nothing waits for it, and nothing sees its rows before COMMIT", async () => {
    const { url } = await database();
    const host = await start(url);
    const store = host.get(conversationStoreRef);
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inside: () => void = () => {};
    const entered = new Promise<void>((resolve) => {
      inside = resolve;
    });
    const open = store.transaction(async () => {
      await store.workspaces.create({ id: "pending", root: "/p" });
      inside();
      await held;
    });
    await entered;
    // another async context: answered at once, without the uncommitted row
    expect(await store.workspaces.get("pending")).toBeUndefined();
    await store.workspaces.create({ id: "beside", root: "/b" });
    release();
    await open;
    expect((await store.workspaces.list()).map((w) => w.id).sort()).toEqual(["beside", "default", "pending"]);
    const nested = await rejectionOf(store.transaction(() => store.transaction(async () => {})));
    expect(nested.code).toBe("conflict");
  });

  test("the handle refuses a SQLite schema, a core table, and its own transaction", async () => {
    const { url } = await database();
    const host = await start(url);
    const store = host.get(conversationStoreRef);
    expect(() => store.database(notesSqlite)).toThrow(/SQLite table, but this store is on PostgreSQL/);
    const { workspaces } = await import("../src/postgres/schema.ts");
    expect(() => store.database({ workspaces })).toThrow(/belongs to the core store/);
    const db = store.database(notesPg);
    expect((await rejectionOf(db.transaction(async () => {}))).message).toContain("use store.transaction");
    await db.update(notesItems).set({ pinned: true }).where(eq(notesItems.id, 1));
  });

  test("a migration that alters a core table is refused and keeps nothing of its batch", async () => {
    const { url } = await database();
    const meddler = schemaExtension("meddler", { postgres: postgresMigrationsOf("meddler") });
    const error = await rejectionOf(start(url, [meddler]));
    expect(error).toBeInstanceOf(StartupError);
    expect(error.message).toContain(
      'extension "meddler": migration 0001_alter_core.sql alters table "workspaces"',
    );
    const tables = await peek<{ tablename: string }>(
      url,
      "SELECT tablename FROM pg_tables WHERE tablename LIKE 'meddler%'",
    );
    expect(tables).toEqual([]);
    const columns = await peek<{ column_name: string }>(
      url,
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'workspaces' AND column_name = 'meddler_flag'",
    );
    expect(columns).toEqual([]);
  });

  test("a failing migration stops start-up naming the file, and keeps nothing of the batch", async () => {
    const { url } = await database();
    const broken = schemaExtension("broken", { postgres: postgresMigrationsOf("broken") });
    const error = await rejectionOf(start(url, [broken]));
    expect(error.message).toContain('extension "broken": migration 0001_fails.sql failed');
    const tables = await peek<{ tablename: string }>(
      url,
      "SELECT tablename FROM pg_tables WHERE tablename LIKE 'broken%'",
    );
    expect(tables).toEqual([]);
  });

  test("an extension without Postgres migrations is left out, said so, and fails alone when it asks for its tables", async () => {
    const { url } = await database();
    // its tables exist only on SQLite: a bare folder, no `migrations.postgres`
    const sqliteOnly = defineExtension({
      manifest: {
        id: "notes",
        version: "0.0.1",
        dependsOn: ["conversation-store"],
        extends: ["conversation-store"],
      },
      register(reg) {
        reg.contribute(storeSchemasPoint, { migrations: migrationsOf("notes") });
      },
      activate(ctx) {
        ctx.use(conversationStoreRef).database(notesSqlite);
      },
    });
    const host = await createTestHost({
      extensions: [conversationStoreExtension, sqliteOnly],
      config: { store: { url } },
    });
    hosts.push(host);
    expect(host.logs.some((r) => String(r.msg).includes("keep tables only on SQLite"))).toBe(true);
    const states = Object.fromEntries(host.host.status().extensions.map((e) => [e.id, e.state]));
    expect(states).toEqual({ "conversation-store": "active", notes: "failed" });
  });

  test("hosts starting at once on a new database migrate one after the other", async () => {
    const { url } = await database();
    const [a, b] = await Promise.all([start(url), start(url)]);
    const reports = [a, b].map(
      (h) =>
        (h.get(conversationStoreRef) as unknown as { extensionMigrations: Array<{ applied: string[] }> })
          .extensionMigrations[0]?.applied,
    );
    expect(reports.sort()).toEqual([[], ["0000_init"]]);
    expect((await a.get(conversationStoreRef).workspaces.list()).map((w) => w.id)).toEqual(["default"]);
  });
});
