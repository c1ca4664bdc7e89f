import { type Contribution, messageOf } from "@dispatch/kernel";
import type { TransactionSQL } from "bun";
import {
  type ExtensionMigrationReport,
  extensionJournalTable,
  type Plan,
  planContributions,
} from "../extension-migrations.ts";
import { checkOwnership, type SchemaObject, schemaChanges } from "../schema-ownership.ts";
import { StoreError } from "../store-error.ts";
import { postgresMigrationsFolder, type StoreSchemaContribution, tablePrefix } from "../store-schemas.ts";
import type { PgStoreDatabase } from "./pg-database.ts";
import { migrationLockKey } from "./pg-migrations.ts";

/**
 * Applies the Postgres migrations contributed through `storeSchemasPoint` (`migrations.postgres`),
 * in the order given (a contribution without one is left out and named in `withoutPostgres`), each
 * extension's pending batch in one transaction under the migration lock; the same journal, naming
 * rule and errors as on SQLite. PostgreSQL checks foreign keys as each statement runs, so no check
 * afterwards is needed.
 */
export async function applyPostgresExtensionMigrations(
  db: PgStoreDatabase,
  contributions: readonly Contribution<StoreSchemaContribution>[],
): Promise<{ reports: ExtensionMigrationReport[]; withoutPostgres: string[] }> {
  // An extension that gives no Postgres folder has not been made to run on Postgres yet: it is left
  // out (the store says so), and fails on its own when it asks for its tables, rather than stopping
  // the store for every other extension.
  const withoutPostgres: string[] = [];
  if (contributions.length === 0) return { reports: [], withoutPostgres };
  const plans = planContributions(
    contributions,
    "Postgres",
    "`migrations.postgres`",
    (value, extensionId) => {
      try {
        return postgresMigrationsFolder(value);
      } catch {
        withoutPostgres.push(extensionId);
        return null;
      }
    },
  );
  const owners = new Map(plans.map((plan) => [tablePrefix(plan.extensionId), plan.extensionId]));
  const reports: ExtensionMigrationReport[] = [];
  for (const plan of plans) reports.push(await applyPlan(db, plan, owners));
  return { reports, withoutPostgres };
}

async function applyPlan(
  db: PgStoreDatabase,
  plan: Plan,
  owners: ReadonlyMap<string, string>,
): Promise<ExtensionMigrationReport> {
  const { extensionId } = plan;
  return db.sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${migrationLockKey})`;
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS "${extensionJournalTable}" (
      "extension_id" text NOT NULL,
      "tag" text NOT NULL,
      "hash" text NOT NULL,
      "created_at" bigint NOT NULL,
      "applied_at" bigint NOT NULL,
      PRIMARY KEY ("extension_id", "tag")
    )`);
    const rows = await tx.unsafe(`SELECT tag, hash FROM "${extensionJournalTable}" WHERE extension_id = $1`, [
      extensionId,
    ]);
    const done = new Map<string, string>(
      (rows as Array<{ tag: string; hash: string }>).map((row) => [row.tag, row.hash]),
    );
    const pending = plan.files.filter((file) => !done.has(file.tag));
    const edited = plan.files.filter((f) => done.has(f.tag) && done.get(f.tag) !== f.hash).map((f) => f.tag);
    for (const file of pending) {
      const before = await schemaObjects(tx);
      for (const statement of file.statements) {
        try {
          // each statement in a savepoint, so a failure is reported as this file's and not as
          // "current transaction is aborted" on the next one
          await tx.savepoint((sp) => sp.unsafe(statement));
        } catch (error) {
          throw new StoreError(
            "extension_migration_failed",
            `extension "${extensionId}": migration ${file.tag}.sql failed: ${messageOf(error)} (in ${plan.folder}; none of its pending migrations were applied)`,
            { details: { extensionId, migration: `${file.tag}.sql`, folder: plan.folder }, cause: error },
          );
        }
      }
      checkOwnership(extensionId, `${file.tag}.sql`, schemaChanges(before, await schemaObjects(tx)), owners);
      await tx.unsafe(
        `INSERT INTO "${extensionJournalTable}" (extension_id, tag, hash, created_at, applied_at) VALUES ($1, $2, $3, $4, $5)`,
        [extensionId, file.tag, file.hash, file.when, Date.now()],
      );
    }
    return { extensionId, applied: pending.map((file) => file.tag), edited };
  });
}

/**
 * The schema objects of the current schema, in the shape the ownership check compares: tables,
 * views, indexes, sequences, triggers, functions and types, each with a fingerprint (`sql`) that changes when
 * it is altered (a table's columns, defaults and constraints; an index's definition). Names under
 * `__` (the journals) are left out, as on SQLite.
 */
export async function schemaObjects(tx: TransactionSQL): Promise<Map<string, SchemaObject>> {
  const rows = (await tx`
    select c.relname as name,
      case when c.relkind in ('r', 'p') then 'table' when c.relkind in ('v', 'm') then 'view'
        when c.relkind in ('i', 'I') then 'index' else 'sequence' end as type,
      coalesce(t.relname, c.relname) as tbl_name,
      case
        when c.relkind in ('r', 'p') then
          coalesce((select string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
              || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
              || case when a.attnotnull then ' not null' else '' end, ', ' order by a.attnum)
            from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
            where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '')
          || ' | ' || coalesce((select string_agg(k.conname || ' ' || pg_get_constraintdef(k.oid), ', ' order by k.conname)
            from pg_constraint k where k.conrelid = c.oid), '')
        when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid)
        when c.relkind in ('i', 'I') then pg_get_indexdef(c.oid)
        else null end as sql
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_index x on x.indexrelid = c.oid
    left join pg_class t on t.oid = x.indrelid
    where n.nspname = current_schema() and c.relkind in ('r', 'p', 'v', 'm', 'i', 'I', 'S')
    union all
    select g.tgname, 'trigger', r.relname, pg_get_triggerdef(g.oid)
    from pg_trigger g join pg_class r on r.oid = g.tgrelid join pg_namespace n on n.oid = r.relnamespace
    where n.nspname = current_schema() and not g.tgisinternal
    union all
    select p.proname, 'function', p.proname, pg_get_functiondef(p.oid)
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = current_schema() and p.prokind in ('f', 'p')
    union all
    select y.typname, 'type', y.typname, null
    from pg_type y join pg_namespace n on n.oid = y.typnamespace
    where n.nspname = current_schema() and y.typtype in ('e', 'd', 'r')
      or (n.nspname = current_schema() and y.typtype = 'c'
        and exists (select 1 from pg_class k where k.oid = y.typrelid and k.relkind = 'c'))`) as SchemaObject[];
  return new Map(rows.filter((row) => !row.name.startsWith("__")).map((row) => [row.name, row]));
}
