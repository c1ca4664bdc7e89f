import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { conversationStoreRef, storeSchemasPoint } from "@dispatch/conversation-store";
import { defineExtension } from "@dispatch/kernel";
import { clusterConfigSchema } from "./config.ts";
import { InstanceRegistry } from "./instance-registry.ts";
import { type ClusterService, clusterRef } from "./types.ts";

/**
 * Membership of the hosts that share one PostgreSQL store (DESIGN §17): each host heartbeats its
 * row, survivors declare a host silent for `cluster.instanceTimeoutMs` dead, and every host hears
 * `cluster.instance_lost` to recover what the dead one held (leases, turns, tasks). On SQLite the
 * service is there but inert (one host per database).
 */
export const clusterExtension = defineExtension({
  manifest: {
    id: "cluster",
    version: "0.1.0",
    dependsOn: ["conversation-store"],
    extends: ["conversation-store"],
    critical: true,
  },
  provides: [clusterRef],
  consumes: [conversationStoreRef],
  config: { key: "cluster", schema: clusterConfigSchema },
  register(reg) {
    reg.contribute(storeSchemasPoint, {
      migrations: { sqlite: null, postgres: new URL("../drizzle-postgres", import.meta.url) },
    });
  },
  async activate(ctx) {
    const store = ctx.use(conversationStoreRef);
    const { instanceTimeoutMs, heartbeatMs } = ctx.config;
    if (store.dialect !== "postgres") {
      const inert: ClusterService = {
        enabled: false,
        instanceId: store.instanceId,
        instanceTimeoutMs,
        fenced: false,
        instances: async () => [],
      };
      ctx.provide(clusterRef, inert);
      return;
    }
    // This data dir's previous instance: gone if we are starting, so declared dead at once.
    const instanceFile = join(ctx.dataDir, "instance");
    const previous = existsSync(instanceFile)
      ? readFileSync(instanceFile, "utf8").trim() || undefined
      : undefined;
    const registry = new InstanceRegistry({
      store,
      instanceTimeoutMs,
      logger: ctx.logger,
      onLost: (instanceId) => ctx.bus.publish("cluster.instance_lost", { instanceId }),
      onFenced: (reason) => ctx.bus.publish("cluster.fenced", { reason }),
    });
    await registry.join(previous);
    writeFileSync(instanceFile, store.instanceId);
    ctx.setInterval(() => registry.tick(), heartbeatMs);
    // Hosts that died recently may have left work nobody recovered (their survivor stopped too).
    ctx.onReady(async () => {
      for (const instanceId of await registry.recentlyDead())
        ctx.bus.publish("cluster.instance_lost", { instanceId });
    });
    ctx.onDispose(() => registry.leave());
    ctx.provide(clusterRef, {
      enabled: true,
      instanceId: store.instanceId,
      instanceTimeoutMs,
      get fenced() {
        return registry.fenced;
      },
      instances: () => registry.instances(),
    });
    ctx.setHealth(() => ({
      instanceId: store.instanceId,
      fenced: registry.fenced,
      instanceTimeoutMs,
      heartbeatMs,
    }));
  },
});
