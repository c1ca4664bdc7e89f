import type { MemorySample } from "./types.ts";

/** Reads the process's memory; injectable so tests can drive the pressure level. Must not throw. */
export type MemorySampler = () => MemorySample;

/** The default sampler: `process.memoryUsage()` of this process. */
export const processMemorySampler: MemorySampler = () => {
  const usage = process.memoryUsage();
  return {
    at: Date.now(),
    rssBytes: usage.rss,
    heapUsedBytes: usage.heapUsed,
    heapTotalBytes: usage.heapTotal,
    externalBytes: usage.external,
    arrayBuffersBytes: usage.arrayBuffers,
  };
};
