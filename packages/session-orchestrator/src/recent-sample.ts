import type { MemorySample } from "./types.ts";

/** How long a turn's memory reading is reused by the turns that start or end after it. */
export const memorySampleReuseMs = 250;

/**
 * A sampler that reuses its last reading for `maxAgeMs`: reading the process's memory costs tens of
 * µs (and the telemetry service logs and exports each sample), and a host running hundreds of turns
 * a second would otherwise read it twice per turn. A turn's "before" and "after" are then at most
 * `maxAgeMs` old. A sampler that throws is not remembered.
 */
export function reusingRecent(
  sample: () => MemorySample,
  maxAgeMs: number = memorySampleReuseMs,
  now: () => number = performance.now,
): () => MemorySample {
  let last: MemorySample | undefined;
  let takenAt = Number.NEGATIVE_INFINITY;
  return () => {
    const at = now();
    if (last === undefined || at - takenAt >= maxAgeMs) {
      last = sample();
      takenAt = at;
    }
    return last;
  };
}
