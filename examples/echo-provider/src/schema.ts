import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * The echo extension's one table: how many calls each echo provider has answered. Named `echo_…`
 * because the store requires an extension's tables to carry its id as a prefix.
 */
export const echoCalls = sqliteTable("echo_calls", {
  providerId: text("provider_id").primaryKey(),
  calls: integer("calls").notNull(),
  /** Epoch ms of the latest call. */
  lastCallAt: integer("last_call_at").notNull(),
});
