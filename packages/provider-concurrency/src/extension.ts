import { conversationStoreRef } from "@dispatch/conversation-store";
import { defineExtension } from "@dispatch/kernel";
import { createConcurrencyManager } from "./concurrency-manager.ts";
import { registerConcurrencyMetrics } from "./concurrency-metrics.ts";
import { concurrencyConfigSchema } from "./config.ts";
import type { ProviderStats } from "./manager-options.ts";
import { syncStarred } from "./starred-sync.ts";
import { concurrencyManagerRef } from "./types.ts";

/**
 * Provides the concurrency manager. Provider limits are set by the providers extension through
 * `setLimit`; this extension owns the starred set (seeded from the store, kept current from the bus),
 * the watchdog and the `dispatch_provider_*` metrics.
 */
export const providerConcurrencyExtension = defineExtension({
  manifest: {
    id: "provider-concurrency",
    version: "0.1.0",
    dependsOn: ["conversation-store"],
    critical: true,
  },
  provides: [concurrencyManagerRef],
  config: { key: "concurrency", schema: concurrencyConfigSchema },
  async activate(ctx) {
    const store = ctx.use(conversationStoreRef);
    // The gauges read the manager, which needs the observer the metrics make: bind late.
    let stats: () => ProviderStats[] = () => [];
    const observer = registerConcurrencyMetrics(ctx.metrics, () => stats());
    const manager = createConcurrencyManager({ ...ctx.config, logger: ctx.logger, observer });
    stats = () => manager.stats();
    ctx.onDispose(() => manager.dispose());
    await syncStarred({ manager, workspaces: store.workspaces, bus: ctx.bus, logger: ctx.logger });
    ctx.provide(concurrencyManagerRef, manager);
    ctx.setHealth(() => ({
      providers: manager.stats(),
      leases: manager.leaseCount,
    }));
  },
});
