import type { Database, SQLQueryBindings } from "bun:sqlite";
import { StoreError } from "./store-error.ts";

/** How an extension's drizzle handle asks for a statement's result (drizzle's sqlite-proxy methods). */
export type StatementMethod = "run" | "all" | "values" | "get";

// Statements that would take transaction control away from `transaction` and `write`.
const transactionControl = /^\s*(begin|commit|end|rollback|savepoint|release)\b/i;
// Anything but a plain SELECT may change rows (INSERT … RETURNING arrives as "all").
const plainSelect = /^\s*select\b/i;

/**
 * Runs one statement of an extension's drizzle handle on `sqlite`, answering in the shape drizzle's
 * sqlite-proxy expects; refuses transaction control. `changed` is called after any statement that
 * may have changed rows, whether it succeeded or not.
 */
export function runProxyStatement(
  sqlite: Database,
  sql: string,
  params: readonly unknown[],
  method: StatementMethod,
  changed: () => void,
): { rows: unknown[] } {
  if (transactionControl.test(sql)) {
    throw new StoreError(
      "invalid_request",
      `an extension's database handle cannot run \`${sql.trim().split(/\s+/)[0]}\`: use store.transaction(fn) for a transaction`,
    );
  }
  const statement = sqlite.query(sql);
  const bindings = params as SQLQueryBindings[];
  try {
    if (method === "run") {
      statement.run(...bindings);
      return { rows: [] };
    }
    const rows = statement.values(...bindings) as unknown[];
    // sqlite-proxy takes the single row itself as `rows` for "get".
    return { rows: method === "get" ? (rows[0] as unknown[]) : rows };
  } finally {
    if (!plainSelect.test(sql)) changed();
  }
}
