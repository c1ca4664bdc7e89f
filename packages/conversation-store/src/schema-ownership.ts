import type { Database } from "bun:sqlite";
import { getTableName, is } from "drizzle-orm";
import { SQLiteTable } from "drizzle-orm/sqlite-core";
import * as schema from "./schema.ts";
import { StoreError } from "./store-error.ts";
import { tablePrefix } from "./store-schemas.ts";

/** A table, index, view or trigger as `sqlite_master` lists it. */
export interface SchemaObject {
  type: string;
  name: string;
  /** The table an index or trigger belongs to; a table's or view's own name. */
  tbl_name: string;
  sql: string | null;
}

/** What a migration did to one schema object. */
export interface SchemaChange {
  verb: "creates" | "drops" | "alters";
  object: SchemaObject;
}

/** The contributors' prefixes (`notes_`) → their extension ids. */
export type Owners = ReadonlyMap<string, string>;

/** The core store's table names (its indexes are named after them: `turns_conversation_idx`). */
export const coreTables: readonly string[] = Object.values(schema)
  .filter((value) => is(value, SQLiteTable))
  .map((table) => getTableName(table as SQLiteTable));

/**
 * Every schema object, by name, except SQLite's own (`sqlite_…`, including the automatic indexes that
 * follow their table) and the migration journals (`__…`).
 */
export function schemaObjects(sqlite: Database): Map<string, SchemaObject> {
  const rows = sqlite
    .query<SchemaObject, []>(
      "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_\\_%' ESCAPE '\\'",
    )
    .all();
  return new Map(rows.map((row) => [row.name, row]));
}

/** The objects created, dropped or altered between two snapshots. */
export function schemaChanges(
  before: ReadonlyMap<string, SchemaObject>,
  after: ReadonlyMap<string, SchemaObject>,
): SchemaChange[] {
  const changes: SchemaChange[] = [];
  for (const [name, object] of after) {
    const old = before.get(name);
    if (old === undefined) changes.push({ verb: "creates", object });
    else if (old.sql !== object.sql || old.type !== object.type) changes.push({ verb: "alters", object });
  }
  for (const [name, object] of before) if (!after.has(name)) changes.push({ verb: "drops", object });
  return changes;
}

/**
 * Refuses an extension id whose prefix could name a core table or index (`turns` → `turns_…` would
 * claim `turns_conversation_idx`), before any of its SQL runs.
 */
export function checkPrefixFree(extensionId: string): void {
  const prefix = tablePrefix(extensionId);
  const clash = coreTables.find((table) => `${table}_`.startsWith(prefix) || prefix.startsWith(`${table}_`));
  if (clash !== undefined) {
    throw new StoreError(
      "extension_schema_refused",
      `extension "${extensionId}" cannot own tables: its table prefix "${prefix}" overlaps the core store's table "${clash}" and its indexes; rename the extension`,
      { details: { extensionId, prefix, coreTable: clash } },
    );
  }
}

/** Who owns a schema object name: the contributor with the longest matching prefix, else nobody. */
export function ownerOf(name: string, owners: Owners): string | undefined {
  let best: { prefix: string; id: string } | undefined;
  for (const [prefix, id] of owners) {
    if (name.startsWith(prefix) && (best === undefined || prefix.length > best.prefix.length)) {
      best = { prefix, id };
    }
  }
  return best?.id;
}

/**
 * Throws `extension_schema_refused` unless every change of `migration` is to an object of
 * `extensionId`, and every index or trigger it creates is on one of its tables.
 */
export function checkOwnership(
  extensionId: string,
  migration: string,
  changes: readonly SchemaChange[],
  owners: Owners,
): void {
  const prefix = tablePrefix(extensionId);
  for (const { verb, object } of changes) {
    for (const name of new Set([object.name, object.tbl_name])) {
      if (ownerOf(name, owners) === extensionId) continue;
      const what =
        name === object.name
          ? `${object.type} "${name}"`
          : `${object.type} "${object.name}" on table "${name}"`;
      throw new StoreError(
        "extension_schema_refused",
        `extension "${extensionId}": migration ${migration} ${verb} ${what}, ${belongsTo(name, owners)}; the tables, indexes, views and triggers of "${extensionId}" must be named "${prefix}…" (its id, with "-" written "_")`,
        { details: { extensionId, migration, object: object.name, table: object.tbl_name, verb } },
      );
    }
  }
}

function belongsTo(name: string, owners: Owners): string {
  const owner = ownerOf(name, owners);
  if (owner !== undefined) return `which belongs to extension "${owner}"`;
  if (coreTables.some((table) => name === table || name.startsWith(`${table}_`)))
    return "which belongs to the core store";
  return "which is not one of its own";
}
