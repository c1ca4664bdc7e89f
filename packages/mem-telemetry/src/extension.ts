import { defineExtension, type Logger, messageOf } from "@dispatch/kernel";
import { type CgroupLocations, readCgroupMemoryLimit } from "./cgroup-limit.ts";
import { memTelemetryConfigSchema } from "./config.ts";
import { registerMemoryMetrics } from "./memory-metrics.ts";
import { type MemoryLimit, MemoryMonitor } from "./memory-monitor.ts";
import { type MemorySampler, processMemorySampler } from "./sampler.ts";
import { memoryTelemetryRef } from "./types.ts";

/** Options for `createMemTelemetryExtension`; both are seams for tests and drills. */
export interface MemTelemetryExtensionOptions {
  /** Default: `process.memoryUsage()`. */
  sampler?: MemorySampler;
  /** Where to look for the cgroup limit. Default: `/sys/fs/cgroup` and `/proc/self/cgroup`. */
  cgroup?: CgroupLocations;
}

/** The config limit wins; else the cgroup's; an unreadable cgroup file is logged, not fatal. */
function resolveLimit(configBytes: number | null, cgroup: CgroupLocations, logger: Logger): MemoryLimit {
  if (configBytes !== null) return { bytes: configBytes, source: "config" };
  try {
    const found = readCgroupMemoryLimit(cgroup);
    if (found?.limitBytes != null) {
      return {
        bytes: found.limitBytes,
        source: found.version === 2 ? "cgroup-v2" : "cgroup-v1",
        file: found.file,
      };
    }
  } catch (error) {
    logger.warn("could not read the cgroup memory limit", { err: error, message: messageOf(error) });
  }
  return { bytes: null, source: "none" };
}

/** Builds the `mem-telemetry` extension with an injectable sampler and cgroup location. */
export function createMemTelemetryExtension(options: MemTelemetryExtensionOptions = {}) {
  return defineExtension({
    manifest: { id: "mem-telemetry", version: "0.1.0", dependsOn: [], critical: false },
    provides: [memoryTelemetryRef],
    config: { key: "telemetry", schema: memTelemetryConfigSchema },
    activate(ctx) {
      const { memory } = ctx.config;
      const limit = resolveLimit(memory.limitBytes, options.cgroup ?? {}, ctx.logger);
      if (limit.bytes === null) {
        ctx.logger.info("no memory limit found (config or cgroup); load shedding is off");
      } else {
        ctx.logger.info("memory limit", { limitBytes: limit.bytes, source: limit.source, file: limit.file });
      }
      const metrics = registerMemoryMetrics(ctx.metrics);
      ctx.onDispose(() => metrics.unregister());
      const monitor = new MemoryMonitor({
        sampler: options.sampler ?? processMemorySampler,
        limit,
        thresholds: { warnRatio: memory.warnRatio, shedRatio: memory.shedRatio },
        logger: ctx.logger,
        metrics,
      });
      monitor.sample("start");
      ctx.setInterval(() => {
        monitor.sample("interval");
      }, memory.intervalMs);
      ctx.setHealth(() => monitor.health());
      ctx.provide(memoryTelemetryRef, monitor);
    },
  });
}

/** The `mem-telemetry` extension with the real sampler and cgroup files. */
export const memTelemetryExtension = createMemTelemetryExtension();
