import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Counter, defineExtension } from "@dispatch/kernel";
import { storeConfigSchema } from "./config.ts";
import { openConversationStore } from "./open-conversation-store.ts";
import { openPostgresStore } from "./postgres/open-postgres-store.ts";
import { storeSchemasPoint } from "./store-schemas.ts";
import { conversationStoreRef } from "./types.ts";

/** File name of the database inside the host's data dir. */
export const databaseFileName = "dispatch.db";

/**
 * The conversation store: `<dataDir>/dispatch.db`, or PostgreSQL when `store.url` names one;
 * migrated at activation (the core's migrations, then those contributed through
 * `storeSchemasPoint`), closed at shutdown.
 */
export const conversationStoreExtension = defineExtension({
  manifest: { id: "conversation-store", version: "0.1.0", critical: true },
  provides: [conversationStoreRef],
  extensionPoints: [storeSchemasPoint],
  config: { key: "store", schema: storeConfigSchema },
  async activate(ctx) {
    const dataDir = ctx.host.dataDir;
    mkdirSync(dataDir, { recursive: true });
    const appended = new Counter({
      name: "dispatch_events_appended_total",
      help: "Conversation events committed to the event log",
      registers: [ctx.metrics],
    });
    const defaultRoot = join(dataDir, "workspaces", "default");
    const common = {
      bus: ctx.bus,
      logger: ctx.logger,
      maxMessageBytes: ctx.config.maxMessageBytes,
      defaultWorkspaceRoot: defaultRoot,
      onAppended: (count: number) => appended.inc(count),
      schemas: ctx.contributions(storeSchemasPoint),
    };
    const store =
      ctx.config.url === undefined
        ? openConversationStore({
            ...common,
            path: join(dataDir, databaseFileName),
            busyTimeoutMs: ctx.config.busyTimeoutMs,
          })
        : await openPostgresStore({
            ...common,
            url: ctx.config.url,
            maxConnections: ctx.config.maxConnections,
          });
    ctx.onDispose(() => store.close());
    // The default workspace's tools need its root to exist on a fresh install.
    mkdirSync(defaultRoot, { recursive: true });
    ctx.provide(conversationStoreRef, store);
    ctx.setHealth(() => ({
      dialect: store.dialect,
      path: store.path,
      instanceId: store.instanceId,
      schemaMigrationsApplied: store.migrations.applied,
      extensionMigrationsApplied: Object.fromEntries(
        store.extensionMigrations.map((report) => [report.extensionId, report.applied.length]),
      ),
    }));
  },
});
