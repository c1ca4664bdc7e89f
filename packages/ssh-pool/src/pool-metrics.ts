import { Counter, Gauge, type Registry } from "@dispatch/kernel";
import type { BreakerState } from "./circuit-breaker.ts";
import type { PoolStats } from "./connection-pool.ts";

/** Numeric value of each breaker state on `dispatch_ssh_breaker_state`. */
export const breakerStateValue: Record<BreakerState, number> = { closed: 0, "half-open": 1, open: 2 };

/** Every metric name this package registers. */
export const sshMetricNames = [
  "dispatch_ssh_connections",
  "dispatch_ssh_channels_in_use",
  "dispatch_ssh_queued_commands",
  "dispatch_ssh_breaker_state",
  "dispatch_ssh_failures_total",
] as const;

/** The Prometheus side of the pools: gauges read from the pools at scrape time, a failure counter. */
export interface SshMetrics {
  /** Counts one connection failure (failed attempt or lost connection) of `hostId`. */
  countFailure(hostId: string): void;
  /** Removes every metric this created from the registry. */
  unregister(): void;
}

/** Registers the ssh metrics on `registry`, reading gauges from `stats()` on each scrape. */
export function registerSshMetrics(registry: Registry, stats: () => PoolStats[]): SshMetrics {
  const gauge = (name: string, help: string, read: (s: PoolStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["host"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const s of stats()) this.set({ host: s.hostId }, read(s));
      },
    });
  gauge(sshMetricNames[0], "Open SSH connections per host", (s) => s.connections);
  gauge(
    sshMetricNames[1],
    "SSH channels in use per host (exec channels and sftp sessions)",
    (s) => s.channelsInUse,
  );
  gauge(sshMetricNames[2], "Commands waiting for an SSH channel per host", (s) => s.queued);
  gauge(
    sshMetricNames[3],
    "Circuit breaker per host: 0 closed, 1 half-open, 2 open",
    (s) => breakerStateValue[s.breaker],
  );
  const failures = new Counter({
    name: sshMetricNames[4],
    help: "Failed SSH connection attempts and connections lost unexpectedly, per host",
    labelNames: ["host"] as const,
    registers: [registry],
  });
  for (const s of stats()) failures.inc({ host: s.hostId }, 0);
  return {
    countFailure: (hostId) => failures.inc({ host: hostId }),
    unregister: () => {
      for (const name of sshMetricNames) registry.removeSingleMetric(name);
    },
  };
}
