import { bigint, integer, pgTable, text } from "drizzle-orm/pg-core";

// `bun x drizzle-kit generate --config drizzle.postgres.config.ts --name <what_changed>`.

const epochMs = (name: string) => bigint(name, { mode: "number" });

/**
 * One row per host process (store instance) on the database. `last_seen` is the database's clock
 * at its last heartbeat; `dead_at` is set, once and for good, when a survivor declared it dead (or
 * it left), so a host that comes back after that knows it was replaced.
 */
export const instances = pgTable("cluster_instances", {
  id: text("id").primaryKey(),
  hostname: text("hostname").notNull(),
  pid: integer("pid").notNull(),
  startedAt: epochMs("started_at").notNull(),
  lastSeen: epochMs("last_seen").notNull(),
  deadAt: epochMs("dead_at"),
});
