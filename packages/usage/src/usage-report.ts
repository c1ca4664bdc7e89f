import type { ExtensionDatabase } from "@dispatch/conversation-store";
import type { UsageGroup, UsageQuery, UsageReport, UsageTotals } from "@dispatch/wire";
import { and, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import type * as schema from "./schema.ts";

// Queries name the SQLite tables' columns for their types and `tables` at run time (the pg-core
// twins on Postgres): the twins have the same columns (test/schema-twins.test.ts).

/** `GET /usage`: sums of the recorded calls, grouped. */
export async function usageReport(
  db: ExtensionDatabase<typeof schema>,
  tables: typeof schema,
  timeZone: string,
  query: UsageQuery,
): Promise<UsageReport> {
  const { calls } = tables;
  const from = query.from === undefined ? undefined : Date.parse(query.from);
  const to = query.to === undefined ? undefined : Date.parse(query.to);
  const conditions: SQL[] = [];
  if (query.workspaceId !== undefined) conditions.push(eq(calls.workspaceId, query.workspaceId));
  if (from !== undefined) conditions.push(gte(calls.at, from));
  if (to !== undefined) conditions.push(lt(calls.at, to));
  const where = and(...conditions);
  const sums = {
    calls: sql<number>`count(*)`,
    inputTokens: sql<number>`coalesce(sum(${calls.inputTokens}), 0)`,
    outputTokens: sql<number>`coalesce(sum(${calls.outputTokens}), 0)`,
    cachedInputTokens: sql<number>`coalesce(sum(${calls.cachedInputTokens}), 0)`,
    cost: sql<number | null>`sum(${calls.cost})`,
    unpricedCalls: sql<number>`coalesce(sum(case when ${calls.cost} is null then 1 else 0 end), 0)`,
  };
  const [total] = await db.select(sums).from(calls).where(where);
  let groups: UsageGroup[];
  if (query.groupBy === "day") {
    const rows = await db
      .select({ day: calls.day, ...sums })
      .from(calls)
      .where(where)
      .groupBy(calls.day)
      .orderBy(calls.day);
    groups = rows.map(({ day, ...rest }) => ({ day, ...totalsOf(rest) }));
  } else if (query.groupBy === "conversation") {
    const rows = await db
      .select({ conversationId: calls.conversationId, workspaceId: calls.workspaceId, ...sums })
      .from(calls)
      .where(where)
      .groupBy(calls.conversationId, calls.workspaceId);
    groups = rows.map(({ conversationId, workspaceId, ...rest }) => ({
      conversationId,
      workspaceId,
      ...totalsOf(rest),
    }));
  } else {
    const rows = await db
      .select({ provider: calls.provider, model: calls.model, ...sums })
      .from(calls)
      .where(where)
      .groupBy(calls.provider, calls.model);
    groups = rows.map(({ provider, model, ...rest }) => ({ provider, model, ...totalsOf(rest) }));
  }
  if (query.groupBy !== "day") {
    groups.sort((a, b) => b.totalTokens - a.totalTokens || keyOf(a).localeCompare(keyOf(b)));
  }
  return {
    workspaceId: query.workspaceId ?? null,
    from: from === undefined ? null : new Date(from).toISOString(),
    to: to === undefined ? null : new Date(to).toISOString(),
    groupBy: query.groupBy,
    timeZone: timeZone,
    groups,
    total: totalsOf(total ?? {}),
  };
}

function totalsOf(row: {
  calls?: unknown;
  inputTokens?: unknown;
  outputTokens?: unknown;
  cachedInputTokens?: unknown;
  cost?: unknown;
  unpricedCalls?: unknown;
}): UsageTotals {
  const n = (value: unknown) => Number(value ?? 0);
  const inputTokens = n(row.inputTokens);
  const outputTokens = n(row.outputTokens);
  return {
    calls: n(row.calls),
    inputTokens,
    outputTokens,
    cachedInputTokens: n(row.cachedInputTokens),
    totalTokens: inputTokens + outputTokens,
    cost: row.cost === null || row.cost === undefined ? null : Number(row.cost),
    unpricedCalls: n(row.unpricedCalls),
  };
}

function keyOf(group: UsageGroup): string {
  return group.conversationId ?? `${group.provider ?? ""}/${group.model ?? ""}`;
}
