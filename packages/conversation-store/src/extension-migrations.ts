import type { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Contribution, messageOf } from "@dispatch/kernel";
import { checkOwnership, checkPrefixFree, schemaChanges, schemaObjects } from "./schema-ownership.ts";
import { StoreError } from "./store-error.ts";
import { type StoreSchemaContribution, sqliteMigrationsFolder, tablePrefix } from "./store-schemas.ts";

/**
 * The journal of extension migrations: one row per applied migration, keyed by extension id, so each
 * extension has its own history beside drizzle's `__drizzle_migrations` (which stays the core's).
 */
export const extensionJournalTable = "__dispatch_extension_migrations";

/** What applying one extension's migrations did. */
export interface ExtensionMigrationReport {
  extensionId: string;
  /** Tags (file names without `.sql`) applied by this call, in order. */
  applied: string[];
  /** Tags applied earlier whose file has changed since: a shipped migration was edited. */
  edited: string[];
}

/** One migration file of drizzle-kit's journal. */
export interface MigrationFile {
  tag: string;
  /** The journal's `when`, recorded as drizzle's migrator does. */
  when: number;
  statements: string[];
  /** sha256 of the file, as drizzle's migrator computes it. */
  hash: string;
}

/** One contributor's migrations, read and checked before any SQL runs. */
export interface Plan {
  extensionId: string;
  folder: string;
  files: MigrationFile[];
}

/**
 * Applies the migrations contributed through `storeSchemasPoint`, in the order given (the kernel's
 * activation order, so an extension's migrations run after those of the extensions it depends on),
 * after the core's. Each extension's pending migrations run in one transaction, and each migration
 * may create, alter or drop only objects named with its extension's prefix. Throws a StoreError that
 * names the extension and the migration file; nothing of that extension's pending migrations stays.
 * With no contributions the database is not touched (no journal table is created).
 */
export function applyExtensionMigrations(
  sqlite: Database,
  contributions: readonly Contribution<StoreSchemaContribution>[],
): ExtensionMigrationReport[] {
  if (contributions.length === 0) return [];
  const plans = planAll(contributions);
  if (plans.length === 0) return [];
  const owners = new Map(plans.map((plan) => [tablePrefix(plan.extensionId), plan.extensionId]));
  sqlite.run(
    `CREATE TABLE IF NOT EXISTS "${extensionJournalTable}" (
      "extension_id" text NOT NULL,
      "tag" text NOT NULL,
      "hash" text NOT NULL,
      "created_at" numeric NOT NULL,
      "applied_at" integer NOT NULL,
      PRIMARY KEY ("extension_id", "tag")
    )`,
  );
  return withForeignKeysOff(sqlite, () => plans.map((plan) => applyPlan(sqlite, plan, owners)));
}

function planAll(contributions: readonly Contribution<StoreSchemaContribution>[]): Plan[] {
  return planContributions(
    contributions,
    "SQLite",
    "`migrations` or `migrations.sqlite`",
    sqliteMigrationsFolder,
  );
}

/**
 * Reads every contribution's migrations for one dialect before any SQL runs; `folderOf` returns
 * null for a contribution that keeps no tables in that dialect (it is then left out).
 */
export function planContributions(
  contributions: readonly Contribution<StoreSchemaContribution>[],
  dialect: string,
  where: string,
  folderOf: (value: StoreSchemaContribution, extensionId: string) => string | null,
): Plan[] {
  const seen = new Set<string>();
  const plans: Plan[] = [];
  for (const { extensionId, value } of contributions) {
    if (seen.has(extensionId)) {
      throw new StoreError(
        "extension_migration_failed",
        `extension "${extensionId}" contributes to conversation-store.schemas more than once; contribute one migrations folder`,
        { details: { extensionId } },
      );
    }
    seen.add(extensionId);
    checkPrefixFree(extensionId);
    let folder: string | null;
    try {
      folder = folderOf(value, extensionId);
      if (folder !== null && (typeof folder !== "string" || folder === ""))
        throw new Error("no folder given");
    } catch (error) {
      throw new StoreError(
        "extension_migration_failed",
        `extension "${extensionId}" contributes store schemas without a ${dialect} migrations folder (${where}): ${messageOf(error)}`,
        { details: { extensionId }, cause: error },
      );
    }
    if (folder === null) continue;
    plans.push({ extensionId, folder, files: readMigrations(extensionId, folder) });
  }
  return plans;
}

/** drizzle-kit's journal and SQL files, as drizzle's own `readMigrationFiles` reads them, with their tags. */
function readMigrations(extensionId: string, folder: string): MigrationFile[] {
  const journalPath = join(folder, "meta", "_journal.json");
  let entries: Array<{ tag: string; when: number }>;
  try {
    const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries?: unknown };
    if (!Array.isArray(journal.entries)) throw new Error("it has no `entries` list");
    entries = journal.entries as Array<{ tag: string; when: number }>;
  } catch (error) {
    throw new StoreError(
      "extension_migration_failed",
      `extension "${extensionId}": cannot read its migration journal ${journalPath}: ${messageOf(error)} (generate it with \`bun x drizzle-kit generate\`)`,
      { details: { extensionId, folder }, cause: error },
    );
  }
  return entries.map(({ tag, when }) => {
    const file = join(folder, `${tag}.sql`);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new StoreError(
        "extension_migration_failed",
        `extension "${extensionId}": migration ${tag}.sql, listed in ${journalPath}, cannot be read: ${messageOf(error)}`,
        { details: { extensionId, folder, migration: `${tag}.sql` }, cause: error },
      );
    }
    return {
      tag,
      when,
      statements: text.split("--> statement-breakpoint").filter(hasSql),
      hash: createHash("sha256").update(text).digest("hex"),
    };
  });
}

/** False for a chunk of only comments and blanks (a fresh `--custom` file), which SQLite refuses to run. */
export function hasSql(chunk: string): boolean {
  return (
    chunk
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/--[^\n]*/g, "")
      .trim() !== ""
  );
}

function applyPlan(
  sqlite: Database,
  plan: Plan,
  owners: ReadonlyMap<string, string>,
): ExtensionMigrationReport {
  const { extensionId } = plan;
  const run = sqlite.transaction((): ExtensionMigrationReport => {
    // Read inside the transaction: another process migrating the same file waits on IMMEDIATE.
    const done = new Map(
      sqlite
        .query<{ tag: string; hash: string }, [string]>(
          `SELECT tag, hash FROM "${extensionJournalTable}" WHERE extension_id = ?`,
        )
        .all(extensionId)
        .map((row) => [row.tag, row.hash]),
    );
    const pending = plan.files.filter((file) => !done.has(file.tag));
    const edited = plan.files.filter((f) => done.has(f.tag) && done.get(f.tag) !== f.hash).map((f) => f.tag);
    for (const file of pending) {
      const before = schemaObjects(sqlite);
      for (const statement of file.statements) {
        try {
          sqlite.run(statement);
        } catch (error) {
          throw new StoreError(
            "extension_migration_failed",
            `extension "${extensionId}": migration ${file.tag}.sql failed: ${messageOf(error)} (in ${plan.folder}; none of its pending migrations were applied)`,
            { details: { extensionId, migration: `${file.tag}.sql`, folder: plan.folder }, cause: error },
          );
        }
      }
      checkOwnership(extensionId, `${file.tag}.sql`, schemaChanges(before, schemaObjects(sqlite)), owners);
      sqlite.run(
        `INSERT INTO "${extensionJournalTable}" (extension_id, tag, hash, created_at, applied_at) VALUES (?, ?, ?, ?, ?)`,
        [extensionId, file.tag, file.hash, file.when, Date.now()],
      );
    }
    const last = pending[pending.length - 1];
    if (last !== undefined) checkForeignKeys(sqlite, extensionId, last);
    return { extensionId, applied: pending.map((file) => file.tag), edited };
  });
  return run.immediate();
}

function checkForeignKeys(sqlite: Database, extensionId: string, last: MigrationFile): void {
  const violations = sqlite.query("PRAGMA foreign_key_check").all();
  if (violations.length === 0) return;
  throw new StoreError(
    "extension_migration_failed",
    `extension "${extensionId}": after migration ${last.tag}.sql, ${violations.length} row(s) break foreign keys (first: ${JSON.stringify(violations[0])})`,
    { details: { extensionId, migration: `${last.tag}.sql`, violations: violations.slice(0, 20) } },
  );
}

/**
 * drizzle-kit rebuilds a SQLite table as create-copy-drop-rename under `PRAGMA foreign_keys=OFF`,
 * which is a no-op inside a transaction; so, as for the core's migrations, foreign keys are off while
 * migrating and checked after each extension's batch.
 */
function withForeignKeysOff<T>(sqlite: Database, fn: () => T): T {
  const enforced =
    sqlite.query<{ foreign_keys: number }, []>("PRAGMA foreign_keys").get()?.foreign_keys === 1;
  sqlite.run("PRAGMA foreign_keys = OFF");
  try {
    return fn();
  } finally {
    if (enforced) sqlite.run("PRAGMA foreign_keys = ON");
  }
}
