import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createMemoryLogger } from "@dispatch/kernel";
import { coreMigrationCount, migrationsOf } from "../test/fixtures/schema-extensions.ts";
import { extensionJournalTable } from "./extension-migrations.ts";
import { type OpenedConversationStore, openConversationStore } from "./open-conversation-store.ts";
import type { StoreSchemaContribution } from "./store-schemas.ts";

const dirs: string[] = [];
const stores: OpenedConversationStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "dispatch-ext-migrations-"));
  dirs.push(dir);
  return dir;
}

type Schemas = Array<{ extensionId: string; value: StoreSchemaContribution }>;

function open(path: string, schemas: Schemas, logger = createMemoryLogger().logger): OpenedConversationStore {
  const store = openConversationStore({ path, schemas, logger });
  stores.push(store);
  return store;
}

function openError(path: string, schemas: Schemas): Error & { code?: string } {
  try {
    open(path, schemas);
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected the store to refuse to open");
}

/**
 * A migrations folder in drizzle-kit's layout, for the edge cases no schema can produce; the normal
 * cases use the fixtures drizzle-kit generated (test/fixtures/extension-schemas).
 */
function handWritten(migrations: Record<string, string>): string {
  const folder = join(tempDir(), "drizzle");
  mkdirSync(join(folder, "meta"), { recursive: true });
  const entries = Object.entries(migrations).map(([tag, sql], idx) => {
    writeFileSync(join(folder, `${tag}.sql`), sql);
    return { idx, version: "6", when: 1_700_000_000_000 + idx, tag, breakpoints: true };
  });
  writeFileSync(
    join(folder, "meta", "_journal.json"),
    JSON.stringify({ version: "7", dialect: "sqlite", entries }),
  );
  return folder;
}

const notes = (folder = migrationsOf("notes")) => ({ extensionId: "notes", value: { migrations: folder } });

describe("extension migrations", () => {
  test("a legacy database (from before migration tracking) is baselined, then the extensions migrate", () => {
    const path = join(tempDir(), "dispatch.db");
    const legacySql = readFileSync(
      join(import.meta.dir, "..", "test", "fixtures", "legacy-schema.sql"),
      "utf8",
    );
    const raw = new Database(path);
    raw.exec(legacySql);
    raw.close();
    const store = open(path, [notes()]);
    expect(store.migrations).toEqual({ baselined: true, applied: coreMigrationCount - 1 });
    expect(store.extensionMigrations).toEqual([
      { extensionId: "notes", applied: ["0000_init", "0001_item_pinned"], edited: [] },
    ]);
  });

  test("the contribution may name its folder as a file: URL, or per dialect", () => {
    const path = join(tempDir(), "dispatch.db");
    const url = pathToFileURL(migrationsOf("notes"));
    expect(open(path, [{ extensionId: "notes", value: { migrations: url } }]).extensionMigrations).toEqual([
      { extensionId: "notes", applied: ["0000_init", "0001_item_pinned"], edited: [] },
    ]);
    stores.pop()?.close();
    const perDialect = { migrations: { sqlite: url, postgres: "/nowhere/postgres" } };
    expect(open(path, [{ extensionId: "notes", value: perDialect }]).extensionMigrations).toEqual([
      { extensionId: "notes", applied: [], edited: [] },
    ]);
  });

  test("a shipped migration edited afterwards is not re-run, and is logged", () => {
    const folder = join(tempDir(), "drizzle");
    cpSync(migrationsOf("notes"), folder, { recursive: true });
    const path = join(tempDir(), "dispatch.db");
    open(path, [notes(folder)]);
    stores.pop()?.close();
    writeFileSync(
      join(folder, "0000_init.sql"),
      `${readFileSync(join(folder, "0000_init.sql"), "utf8")}\n-- edited`,
    );
    const memory = createMemoryLogger();
    const store = open(path, [notes(folder)], memory.logger);
    expect(store.extensionMigrations).toEqual([{ extensionId: "notes", applied: [], edited: ["0000_init"] }]);
    expect(memory.records.find((r) => r.level === "warn")).toMatchObject({
      msg: expect.stringContaining("changed after they were applied"),
      ext: "notes",
      edited: ["0000_init"],
    });
  });

  test("an id whose prefix could name a core table or index cannot own tables", () => {
    const path = join(tempDir(), "dispatch.db");
    for (const id of ["turns", "turns-archive", "locks"]) {
      const error = openError(path, [{ extensionId: id, value: { migrations: migrationsOf("notes") } }]);
      expect(error.code).toBe("extension_schema_refused");
      expect(error.message).toContain(`extension "${id}" cannot own tables`);
      expect(error.message).toContain("overlaps the core store's table");
    }
  });

  test("an index of its own name on a core table is refused", () => {
    const folder = handWritten({ "0000_index": "CREATE INDEX `notes_by_root` ON `workspaces` (`root`);" });
    const error = openError(join(tempDir(), "dispatch.db"), [notes(folder)]);
    expect(error.code).toBe("extension_schema_refused");
    expect(error.message).toContain(
      'extension "notes": migration 0000_index.sql creates index "notes_by_root" on table "workspaces", which belongs to the core store',
    );
  });

  test("a name under another contributor's longer prefix is that contributor's", () => {
    const folder = handWritten({ "0000_grab": "CREATE TABLE `notes_tags_stolen` (`id` integer);" });
    const tags = handWritten({ "0000_init": "CREATE TABLE `notes_tags_list` (`id` integer);" });
    const path = join(tempDir(), "dispatch.db");
    const error = openError(path, [
      notes(folder),
      { extensionId: "notes-tags", value: { migrations: tags } },
    ]);
    expect(error.message).toContain(
      'migration 0000_grab.sql creates table "notes_tags_stolen", which belongs to extension "notes-tags"',
    );
    // Its own `notes_tags_…` tables are fine.
    expect(
      open(path, [{ extensionId: "notes-tags", value: { migrations: tags } }]).extensionMigrations,
    ).toEqual([{ extensionId: "notes-tags", applied: ["0000_init"], edited: [] }]);
  });

  test("dropping another extension's table is refused", () => {
    const path = join(tempDir(), "dispatch.db");
    open(path, [notes()]);
    stores.pop()?.close();
    const drop = handWritten({ "0000_drop": "DROP TABLE `notes_items`;" });
    const error = openError(path, [notes(), { extensionId: "rogue", value: { migrations: drop } }]);
    expect(error.message).toContain(
      'extension "rogue": migration 0000_drop.sql drops table "notes_items", which belongs to extension "notes"',
    );
    const raw = new Database(path, { readonly: true });
    expect(raw.query("SELECT name FROM sqlite_master WHERE name = 'notes_items'").all()).toHaveLength(1);
    raw.close();
  });

  test("a missing folder or journal, or a second contribution, is named with the extension", () => {
    const path = join(tempDir(), "dispatch.db");
    const missing = openError(path, [notes("/no/such/folder")]);
    expect(missing.code).toBe("extension_migration_failed");
    expect(missing.message).toContain(
      'extension "notes": cannot read its migration journal /no/such/folder/meta',
    );
    const twice = openError(path, [notes(), notes()]);
    expect(twice.message).toContain(
      'extension "notes" contributes to conversation-store.schemas more than once',
    );
    const none = openError(path, [
      { extensionId: "notes", value: { migrations: { postgres: "/pg" } } } as never,
    ]);
    expect(none.message).toContain(
      'extension "notes" contributes store schemas without a SQLite migrations folder',
    );
  });

  test("without contributions the database has no extension journal", () => {
    const path = join(tempDir(), "dispatch.db");
    open(path, []);
    stores.pop()?.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.query("SELECT name FROM sqlite_master WHERE name = ?").all(extensionJournalTable)).toEqual([]);
    raw.close();
  });
});
