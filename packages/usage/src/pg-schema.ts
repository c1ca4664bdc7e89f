import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
} from "drizzle-orm/pg-core";

// The Postgres twin of schema.ts (epoch-ms times and token sums as bigint); the ledger uses either
// through the same code, so the two must stay column for column alike (test/schema-twins.test.ts).
// `bun x drizzle-kit generate --config drizzle.postgres.config.ts --name <what_changed>`.

const epochMs = (name: string) => bigint(name, { mode: "number" });

/** One row per model call that reported usage (see schema.ts). */
export const calls = pgTable(
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
    cachedInputTokens: integer("cached_input_tokens").notNull(),
    estimated: boolean("estimated").notNull(),
    cost: doublePrecision("cost"),
    at: epochMs("at").notNull(),
    day: text("day").notNull(),
  },
  (t) => [
    index("usage_calls_workspace_at_idx").on(t.workspaceId, t.at),
    index("usage_calls_at_idx").on(t.at),
    index("usage_calls_turn_idx").on(t.turnId),
  ],
);

/**
 * Tokens charged per scope and day (see schema.ts). On Postgres a reservation also locks the rows
 * of the budgets it is checked against, so hosts reserving against one budget take turns.
 */
export const daily = pgTable(
  "usage_daily",
  {
    scope: text("scope").notNull(),
    day: text("day").notNull(),
    tokens: bigint("tokens", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.day] })],
);

/** Estimates of the calls in flight (see schema.ts). */
export const reservations = pgTable(
  "usage_reservations",
  {
    id: text("id").primaryKey(),
    turnId: text("turn_id").notNull(),
    workspaceId: text("workspace_id").notNull(),
    day: text("day").notNull(),
    tokens: integer("tokens").notNull(),
    createdAt: epochMs("created_at").notNull(),
    /** The store instance (host process) whose call holds it: a survivor drops a dead one's (migration 0001). */
    instanceId: text("instance_id"),
  },
  (t) => [
    index("usage_reservations_day_idx").on(t.day, t.workspaceId),
    index("usage_reservations_turn_idx").on(t.turnId),
  ],
);
