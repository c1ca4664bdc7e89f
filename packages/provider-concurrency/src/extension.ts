import { clusterRef } from "@dispatch/cluster";
import { conversationStoreRef, storeSchemasPoint } from "@dispatch/conversation-store";
import { defineExtension } from "@dispatch/kernel";
import { ClusterConcurrencyManager } from "./cluster/cluster-concurrency-manager.ts";
import { createConcurrencyManager } from "./concurrency-manager.ts";
import { registerConcurrencyMetrics } from "./concurrency-metrics.ts";
import { concurrencyConfigSchema } from "./config.ts";
import type { ProviderStats } from "./manager-options.ts";
import { syncStarred } from "./starred-sync.ts";
import { type ConcurrencyManager, concurrencyManagerRef } from "./types.ts";

/** Lease lifetime of a silent host when no `cluster` extension says otherwise. */
const defaultLeaseTtlMs = 15_000;

/**
 * Provides the concurrency manager. Provider limits are set by the providers extension through
 * `setLimit`; this extension owns the starred set (seeded from the store, kept current from the bus),
 * the watchdog and the `dispatch_provider_*` metrics. On a Postgres store it is the cluster-backed
 * manager (slots exact across every host on the database), behind the same interface.
 */
export const providerConcurrencyExtension = defineExtension({
  manifest: {
    id: "provider-concurrency",
    version: "0.1.0",
    dependsOn: ["conversation-store"],
    optionalDependsOn: ["cluster"],
    extends: ["conversation-store"],
    critical: true,
  },
  provides: [concurrencyManagerRef],
  consumes: [conversationStoreRef, clusterRef],
  config: { key: "concurrency", schema: concurrencyConfigSchema },
  register(reg) {
    // The slot tables exist only on Postgres; on SQLite the manager keeps its state in memory.
    reg.contribute(storeSchemasPoint, {
      migrations: { sqlite: null, postgres: new URL("../drizzle-postgres", import.meta.url) },
    });
  },
  async activate(ctx) {
    const store = ctx.use(conversationStoreRef);
    // The gauges read the manager, which needs the observer the metrics make: bind late.
    let stats: () => ProviderStats[] = () => [];
    const observer = registerConcurrencyMetrics(ctx.metrics, () => stats());
    let manager: ConcurrencyManager & { stats(): ProviderStats[]; readonly leaseCount: number };
    if (store.dialect === "postgres") {
      const cluster = ctx.useOptional(clusterRef);
      const clustered = new ClusterConcurrencyManager({
        ...ctx.config,
        store,
        leaseTtlMs: cluster?.instanceTimeoutMs ?? defaultLeaseTtlMs,
        logger: ctx.logger,
        observer,
      });
      await clustered.start();
      ctx.bus.subscribe("cluster.instance_lost", ({ instanceId }) => clustered.forgetInstance(instanceId));
      ctx.bus.subscribe("cluster.fenced", ({ reason }) => clustered.fence(reason));
      ctx.onDispose(() => clustered.close());
      manager = clustered;
    } else {
      const local = createConcurrencyManager({ ...ctx.config, logger: ctx.logger, observer });
      ctx.onDispose(() => local.dispose());
      manager = local;
    }
    stats = () => manager.stats();
    await syncStarred({ manager, workspaces: store.workspaces, bus: ctx.bus, logger: ctx.logger });
    ctx.provide(concurrencyManagerRef, manager);
    ctx.setHealth(() => ({
      cluster: store.dialect === "postgres",
      providers: manager.stats(),
      leases: manager.leaseCount,
    }));
  },
});
