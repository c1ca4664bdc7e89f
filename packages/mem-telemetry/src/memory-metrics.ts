import { Counter, Gauge, type Registry } from "@dispatch/kernel";
import type { MemorySample, PressureLevel } from "./types.ts";

/** The Prometheus side of the monitor: gauges set on every sample, a counter of refused turns. */
export interface MemoryMetrics {
  record(sample: MemorySample, limitBytes: number | null, level: PressureLevel): void;
  countShedTurn(): void;
  /** Removes every metric this created from the registry. */
  unregister(): void;
}

/** Numeric value of each level on `dispatch_memory_pressure_level`. */
export const pressureLevelValue: Record<PressureLevel, number> = { normal: 0, warn: 1, shed: 2 };

/** Every metric name this package registers. */
export const memoryMetricNames = [
  "dispatch_process_memory_bytes",
  "dispatch_memory_limit_bytes",
  "dispatch_memory_pressure_level",
  "dispatch_memory_shed_turns_total",
] as const;

/** Registers the memory metrics on `registry` (once per registry: names are unique there). */
export function registerMemoryMetrics(registry: Registry): MemoryMetrics {
  const memory = new Gauge({
    name: memoryMetricNames[0],
    help: "Memory of the Dispatch process at the last sample, by kind",
    labelNames: ["kind"] as const,
    registers: [registry],
  });
  const limit = new Gauge({
    name: memoryMetricNames[1],
    help: "Memory limit pressure is measured against (config, else cgroup); 0 when there is none",
    registers: [registry],
  });
  const level = new Gauge({
    name: memoryMetricNames[2],
    help: "Memory pressure level: 0 normal, 1 warn, 2 shed (new turns refused)",
    registers: [registry],
  });
  const shed = new Counter({
    name: memoryMetricNames[3],
    help: "New turns refused with memory_pressure",
    registers: [registry],
  });
  return {
    record(sample, limitBytes, pressure) {
      memory.set({ kind: "rss" }, sample.rssBytes);
      memory.set({ kind: "heap_used" }, sample.heapUsedBytes);
      memory.set({ kind: "heap_total" }, sample.heapTotalBytes);
      memory.set({ kind: "external" }, sample.externalBytes);
      memory.set({ kind: "array_buffers" }, sample.arrayBuffersBytes);
      limit.set(limitBytes ?? 0);
      level.set(pressureLevelValue[pressure]);
    },
    countShedTurn: () => shed.inc(),
    unregister: () => {
      for (const name of memoryMetricNames) registry.removeSingleMetric(name);
    },
  };
}
