import { fileURLToPath } from "node:url";
import { createExtensionPoint } from "@dispatch/kernel";

/** A folder as a path or a `file:` URL (`new URL("../drizzle", import.meta.url)`). */
export type FolderLocation = string | URL;

/**
 * What an extension contributes to the store: the migrations drizzle-kit generated from its schema.
 * Its tables (and indexes, views, triggers) must be named `<id>_…`, with `-` in the id written `_`.
 */
export interface StoreSchemaContribution {
  /**
   * drizzle-kit's `out` folder (the `.sql` files and `meta/_journal.json`), one per dialect the
   * extension supports. A bare folder is the SQLite one. The Postgres store (DESIGN §17) reads
   * `postgres`; the SQLite store reads `sqlite`. `null` says the extension keeps no tables in that
   * dialect (it runs without them there); a missing folder is an error.
   */
  migrations: FolderLocation | { sqlite: FolderLocation | null; postgres?: FolderLocation | null };
}

/**
 * The store's extension point for extension-owned tables. Contribute in `register` (and list
 * `conversation-store` in `manifest.extends`); the store applies the migrations when it activates.
 */
export const storeSchemasPoint = createExtensionPoint<StoreSchemaContribution>({
  id: "conversation-store.schemas",
});

/** The SQLite migrations folder of a contribution, as a path; null when it has no SQLite tables. */
export function sqliteMigrationsFolder(contribution: StoreSchemaContribution): string | null {
  const { migrations } = contribution;
  const folder = typeof migrations === "string" || migrations instanceof URL ? migrations : migrations.sqlite;
  if (folder === null) return null;
  return typeof folder === "string" ? folder : fileURLToPath(folder);
}

/** The Postgres migrations folder of a contribution, as a path; null when it has no Postgres tables. */
export function postgresMigrationsFolder(contribution: StoreSchemaContribution): string | null {
  const { migrations } = contribution;
  if (typeof migrations === "string" || migrations instanceof URL) {
    throw new Error("a bare folder is the SQLite one; give `migrations: { sqlite, postgres }`");
  }
  const folder = migrations.postgres;
  if (folder === null) return null;
  if (folder === undefined) throw new Error("`migrations.postgres` is missing");
  return typeof folder === "string" ? folder : fileURLToPath(folder);
}

/** The prefix every schema object of extension `id` carries: `notes-app` → `notes_app_`. */
export function tablePrefix(extensionId: string): string {
  return `${extensionId.replaceAll("-", "_")}_`;
}
