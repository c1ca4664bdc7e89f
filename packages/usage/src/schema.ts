import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

// src/pg-schema.ts is this file's Postgres twin: the same tables and columns (test/schema-twins.test.ts
// holds their rows equal), so the ledger is written once. Changing one means changing both and
// generating each dialect's migration (drizzle.config.ts, drizzle.postgres.config.ts).

/** One row per model call that reported usage (or read its prompt without reporting): the record `GET /usage` sums. */
export const calls = sqliteTable(
  "usage_calls",
  {
    id: text("id").primaryKey(),
    turnId: text("turn_id").notNull(),
    conversationId: text("conversation_id").notNull(),
    workspaceId: text("workspace_id").notNull(),
    provider: text("provider").notNull(),
    model: text("model").notNull(),
    inputTokens: integer("input_tokens").notNull(),
    outputTokens: integer("output_tokens").notNull(),
    /** The part of `input_tokens` read from the provider's prompt cache. */
    cachedInputTokens: integer("cached_input_tokens").notNull(),
    /** 1 when the provider reported nothing and the prompt's estimate was charged instead. */
    estimated: integer("estimated", { mode: "boolean" }).notNull(),
    /** In the price table's currency, at the prices of the time; null when unpriced. */
    cost: real("cost"),
    /** When the call started (epoch ms, the budget clock). */
    at: integer("at").notNull(),
    /** Its day in `budgets.timeZone` (YYYY-MM-DD). */
    day: text("day").notNull(),
  },
  (t) => [
    index("usage_calls_workspace_at_idx").on(t.workspaceId, t.at),
    index("usage_calls_at_idx").on(t.at),
    index("usage_calls_turn_idx").on(t.turnId),
  ],
);

/**
 * Tokens charged per scope and day: `host` for every workspace, `workspace:<id>` for one. A row is
 * created by the first call of its day, so there is no reset step that could lose a count.
 */
export const daily = sqliteTable(
  "usage_daily",
  {
    scope: text("scope").notNull(),
    day: text("day").notNull(),
    tokens: integer("tokens").notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.day] })],
);

/** Estimates of the calls in flight, held against the daily budgets until the call settles. */
export const reservations = sqliteTable(
  "usage_reservations",
  {
    id: text("id").primaryKey(),
    turnId: text("turn_id").notNull(),
    workspaceId: text("workspace_id").notNull(),
    day: text("day").notNull(),
    tokens: integer("tokens").notNull(),
    createdAt: integer("created_at").notNull(),
    /** The store instance (host process) whose call holds it: a survivor drops a dead one's (migration 0001). */
    instanceId: text("instance_id"),
  },
  (t) => [
    index("usage_reservations_day_idx").on(t.day, t.workspaceId),
    index("usage_reservations_turn_idx").on(t.turnId),
  ],
);
