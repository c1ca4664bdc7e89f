import { defineExtension } from "@dispatch/kernel";
import { executionBackendsRef } from "@dispatch/workspace-tools";
import { hostsConfigSchema } from "./config.ts";
import { registerSshMetrics } from "./pool-metrics.ts";
import type { SshPool } from "./ssh-pool.ts";
import { type SshPools, sshPoolsRef } from "./types.ts";

/** Period of the one upkeep timer shared by every pool (idle eviction, stuck connects, breaker). */
const MAINTENANCE_INTERVAL_MS = 1_000;

/**
 * SSH pools for the configured `hosts`: each host gets a pool (connected lazily, so a host that is
 * down cannot stop start-up) and a remote execution backend registered with workspace-tools.
 */
export const sshPoolExtension = defineExtension({
  manifest: { id: "ssh-pool", version: "0.1.0", dependsOn: ["workspace-tools"] },
  provides: [sshPoolsRef],
  config: { key: "hosts", schema: hostsConfigSchema },
  async activate(ctx) {
    const backends = ctx.use(executionBackendsRef);
    const pools = new Map<string, SshPool>();
    const allStats = () => [...pools.values()].map((pool) => pool.stats());
    const metrics = registerSshMetrics(ctx.metrics, allStats);
    ctx.onDispose(() => metrics.unregister());

    // ssh2 and the pool are loaded only when a host is configured: most hosts have none, and the
    // module graph costs several MB of idle RSS and start-up time.
    if (ctx.config.length > 0) {
      const { SshPool, createRemoteBackend } = await import("./pool-runtime.ts");
      for (const host of ctx.config) {
        const pool = new SshPool({
          config: host,
          logger: ctx.logger.child({ hostId: host.id }),
          onFailure: () => metrics.countFailure(host.id),
        });
        pools.set(host.id, pool);
        ctx.onDispose(() => pool.dispose());
        ctx.onDispose(backends.register(host.id, createRemoteBackend(pool)));
        if (host.hostKeySha256 === undefined) {
          ctx.logger.warn("host has no hostKeySha256: connections will be refused until it is set", {
            hostId: host.id,
          });
        }
      }
    }
    if (pools.size > 0) {
      ctx.setInterval(() => {
        for (const pool of pools.values()) pool.maintain();
      }, MAINTENANCE_INTERVAL_MS);
    }

    const service: SshPools = { get: (hostId) => pools.get(hostId), stats: allStats };
    ctx.provide(sshPoolsRef, service);
    ctx.setHealth(() => ({
      hosts: Object.fromEntries(allStats().map(({ hostId, ...state }) => [hostId, state])),
    }));
    ctx.logger.info("ssh hosts configured", { hosts: [...pools.keys()] });
  },
});
