import { getTableColumns, getTableName, isTable, type Table } from "drizzle-orm";

/**
 * What differs between an extension's SQLite schema and its pg-core twin (`dialectDatabase`): the
 * exported tables, their names, and each column's key and name. Empty when they agree. Row types
 * are compared by a type test in the extension (`$inferSelect` of each pair).
 */
export function schemaTwinDifferences(
  sqlite: Record<string, unknown>,
  postgres: Record<string, unknown>,
): string[] {
  const differences: string[] = [];
  const tables = (schema: Record<string, unknown>) =>
    new Map(Object.entries(schema).filter((entry): entry is [string, Table] => isTable(entry[1])));
  const lite = tables(sqlite);
  const pg = tables(postgres);
  for (const key of new Set([...lite.keys(), ...pg.keys()])) {
    const a = lite.get(key);
    const b = pg.get(key);
    if (a === undefined || b === undefined) {
      differences.push(`${key}: only in the ${a === undefined ? "Postgres" : "SQLite"} schema`);
      continue;
    }
    if (getTableName(a) !== getTableName(b))
      differences.push(`${key}: table ${getTableName(a)} (SQLite) vs ${getTableName(b)} (Postgres)`);
    const columnsA = getTableColumns(a);
    const columnsB = getTableColumns(b);
    for (const column of new Set([...Object.keys(columnsA), ...Object.keys(columnsB)])) {
      const nameA = columnsA[column]?.name;
      const nameB = columnsB[column]?.name;
      if (nameA !== nameB)
        differences.push(
          `${key}.${column}: column ${nameA ?? "(none)"} (SQLite) vs ${nameB ?? "(none)"} (Postgres)`,
        );
    }
  }
  return differences;
}
