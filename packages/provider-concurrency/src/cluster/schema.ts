import { sql } from "drizzle-orm";
import { bigint, boolean, index, integer, pgTable, text } from "drizzle-orm/pg-core";

// The tables of the cluster-backed manager (Postgres only); times are the database's epoch ms.
// `bun x drizzle-kit generate --config drizzle.postgres.config.ts --name <what_changed>`.

const epochMs = (name: string) => bigint(name, { mode: "number" });

/** One row per provider: its limit, its pause, and the row every grant locks first. */
export const limits = pgTable("provider_concurrency_limits", {
  providerId: text("provider_id").primaryKey(),
  maxConcurrent: integer("max_concurrent").notNull(),
  coolingUntil: epochMs("cooling_until"),
});

/**
 * Calls waiting for a slot, on every host. `starred` copies the workspace's star (kept current by
 * every host's bus); the grant order is starred (or aged) first, then `prompt_started_at`, then
 * `seq`. A row lives while its host renews `expires_at`.
 */
export const waiters = pgTable(
  "provider_concurrency_waiters",
  {
    id: text("id").primaryKey(),
    providerId: text("provider_id").notNull(),
    instanceId: text("instance_id").notNull(),
    workspaceId: text("workspace_id").notNull(),
    starred: boolean("starred").notNull(),
    promptStartedAt: epochMs("prompt_started_at").notNull(),
    seq: bigint("seq", { mode: "number" }).notNull().generatedAlwaysAsIdentity(),
    turnId: text("turn_id"),
    conversationId: text("conversation_id"),
    expiresAt: epochMs("expires_at").notNull(),
  },
  (t) => [
    index("provider_concurrency_waiters_order_idx").on(t.providerId, t.promptStartedAt, t.seq),
    index("provider_concurrency_waiters_instance_idx").on(t.instanceId),
    index("provider_concurrency_waiters_workspace_idx").on(t.workspaceId),
  ],
);

/** Slots held, on every host: never more rows per provider than its limit. */
export const leases = pgTable(
  "provider_concurrency_leases",
  {
    id: text("id").primaryKey(),
    providerId: text("provider_id").notNull(),
    instanceId: text("instance_id").notNull(),
    waiterId: text("waiter_id").notNull(),
    workspaceId: text("workspace_id").notNull(),
    turnId: text("turn_id"),
    grantedAt: epochMs("granted_at").notNull(),
    expiresAt: epochMs("expires_at").notNull(),
  },
  (t) => [
    index("provider_concurrency_leases_provider_idx").on(t.providerId),
    index("provider_concurrency_leases_instance_idx").on(t.instanceId),
    index("provider_concurrency_leases_waiter_idx").on(t.waiterId),
  ],
);

/** The database's clock in epoch ms: every host measures expiry on the one clock they share. */
export const dbNow = sql`(extract(epoch from clock_timestamp()) * 1000)::bigint`;
