import { Counter, Gauge, Histogram, type Registry } from "@dispatch/kernel";
import type { ConcurrencyObserver, ProviderStats } from "./manager-options.ts";

/**
 * Registers the `dispatch_provider_*` metrics. Gauges read the manager's counts when scraped (so
 * they cannot drift); counters and the wait histogram are fed by the returned observer.
 */
export function registerConcurrencyMetrics(
  registry: Registry,
  stats: () => ProviderStats[],
): ConcurrencyObserver {
  const registers = [registry];
  new Gauge({
    name: "dispatch_provider_slots_in_use",
    help: "Leases currently held, per provider",
    labelNames: ["provider"],
    registers,
    collect() {
      this.reset();
      for (const s of stats()) this.set({ provider: s.providerId }, s.inFlight);
    },
  });
  new Gauge({
    name: "dispatch_provider_slots_max",
    help: "maxConcurrent per provider",
    labelNames: ["provider"],
    registers,
    collect() {
      this.reset();
      for (const s of stats()) this.set({ provider: s.providerId }, s.maxConcurrent);
    },
  });
  new Gauge({
    name: "dispatch_provider_queue_depth",
    help: "Calls waiting for a slot, per provider and class (the workspace's star)",
    labelNames: ["provider", "class"],
    registers,
    collect() {
      this.reset();
      for (const s of stats()) {
        this.set({ provider: s.providerId, class: "starred" }, s.queuedStarred);
        this.set({ provider: s.providerId, class: "unstarred" }, s.queuedUnstarred);
      }
    },
  });
  const wait = new Histogram({
    name: "dispatch_provider_queue_wait_seconds",
    help: "Time from acquire to grant (0 when a slot was free), per provider and class served as (starred, unstarred, aged)",
    labelNames: ["provider", "class"],
    buckets: [0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers,
  });
  const reclaimed = new Counter({
    name: "dispatch_provider_leases_reclaimed_total",
    help: "Leases held past maxLeaseMs and reclaimed by the safety net (each one is a bug to look at)",
    labelNames: ["provider"],
    registers,
  });
  const stalled = new Counter({
    name: "dispatch_provider_streams_stalled_total",
    help: "Model streams aborted by the stall watchdog",
    labelNames: ["provider"],
    registers,
  });
  const rejected = new Counter({
    name: "dispatch_provider_queue_rejected_total",
    help: "Calls refused with provider_queue_full",
    labelNames: ["provider"],
    registers,
  });
  return {
    granted: (e) =>
      wait.observe(
        { provider: e.providerId, class: e.starred ? "starred" : e.aged ? "aged" : "unstarred" },
        e.waitedMs / 1000,
      ),
    reclaimed: (e) => reclaimed.inc({ provider: e.providerId }),
    stalled: (e) => stalled.inc({ provider: e.providerId }),
    queueFull: (e) => rejected.inc({ provider: e.providerId }),
  };
}
