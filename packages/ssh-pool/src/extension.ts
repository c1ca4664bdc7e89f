import { createServiceRef, DispatchError, defineExtension } from "@dispatch/kernel";
import { type ExecutionBackend, executionBackendsPoint } from "@dispatch/workspace-tools";
import { hostsConfigSchema } from "./config.ts";
import { registerSshMetrics } from "./pool-metrics.ts";
import type { SshPool } from "./ssh-pool.ts";
import { type SshPools, sshPoolsRef } from "./types.ts";

/** Period of the one upkeep timer shared by every pool (idle eviction, stuck connects, breaker). */
const MAINTENANCE_INTERVAL_MS = 1_000;

/**
 * The remote backends by host id, made at activation (where the ssh2 code is loaded): this
 * extension's own, not exported, so that its contributions to workspace-tools can reach them.
 */
const remoteBackendsRef = createServiceRef<ReadonlyMap<string, ExecutionBackend>>("ssh-pool.backends");

/**
 * SSH pools for the configured `hosts`: each host gets a pool (connected lazily, so a host that is
 * down cannot stop start-up) and a remote execution backend contributed to workspace-tools.
 */
export const sshPoolExtension = defineExtension({
  manifest: { id: "ssh-pool", version: "0.1.0", extends: ["workspace-tools"] },
  provides: [sshPoolsRef, remoteBackendsRef],
  config: { key: "hosts", schema: hostsConfigSchema },
  register(reg) {
    // The backends exist once this extension has activated; workspace-tools asks on first use.
    const backends = reg.provided(remoteBackendsRef);
    for (const { id } of reg.config) {
      reg.contribute(executionBackendsPoint, {
        hostId: id,
        create: () => {
          const backend = backends().get(id);
          if (backend === undefined)
            throw new DispatchError("internal", `no remote backend was made for host "${id}"`);
          return backend;
        },
      });
    }
  },
  async activate(ctx) {
    const pools = new Map<string, SshPool>();
    const backends = new Map<string, ExecutionBackend>();
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
        backends.set(host.id, createRemoteBackend(pool));
        ctx.onDispose(() => pool.dispose());
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
    ctx.provide(remoteBackendsRef, backends);
    ctx.setHealth(() => ({
      hosts: Object.fromEntries(allStats().map(({ hostId, ...state }) => [hostId, state])),
    }));
    ctx.logger.info("ssh hosts configured", { hosts: [...pools.keys()] });
  },
});
