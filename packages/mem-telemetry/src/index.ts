export {
  type CgroupLimit,
  type CgroupLocations,
  type ProcCgroupPaths,
  parseCgroupV1Limit,
  parseCgroupV2Max,
  parseProcSelfCgroup,
  readCgroupMemoryLimit,
} from "./cgroup-limit.ts";
export {
  type MemoryConfig,
  type MemTelemetryConfig,
  memoryConfigDefaults,
  memTelemetryConfigSchema,
} from "./config.ts";
export {
  createMemTelemetryExtension,
  type MemTelemetryExtensionOptions,
  memTelemetryExtension,
} from "./extension.ts";
export { type MemoryMetrics, memoryMetricNames, registerMemoryMetrics } from "./memory-metrics.ts";
export {
  type LimitSource,
  type MemoryLimit,
  MemoryMonitor,
  type MemoryMonitorOptions,
  type SampleSource,
} from "./memory-monitor.ts";
export { PressureGauge, type PressureThresholds, type PressureTransition } from "./pressure-gauge.ts";
export { SampleHistory, type SampleHistoryOptions } from "./sample-history.ts";
export { type MemorySampler, processMemorySampler } from "./sampler.ts";
export { type MemorySample, type MemoryTelemetry, memoryTelemetryRef, type PressureLevel } from "./types.ts";
