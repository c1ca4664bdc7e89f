/** Memory readings for the drills, taken after full garbage collections so that they compare. */

import { heapStats } from "bun:jsc";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/** One reading after GC, in bytes (objectCount in objects). */
export interface SettledMemory {
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  /** JavaScriptCore's own heap size (`heapStats().heapSize`). */
  jscHeapSize: number;
  objectCount: number;
  /** RSS split by kind (anonymous: heaps and malloc; file: mapped code and files; shmem: e.g. SQLite's WAL index). */
  rssAnon: number;
  rssFile: number;
  rssShmem: number;
  /** Live objects by JSC type name. */
  objectTypeCounts: Record<string, number>;
}

/**
 * Runs a full, synchronous GC a few times with a pause between (finalizers and freed native memory
 * settle over a tick or two), then reads `process.memoryUsage()` and `heapStats()`.
 */
export async function settledMemory(rounds = 3): Promise<SettledMemory> {
  for (let i = 0; i < rounds; i += 1) {
    Bun.gc(true);
    await Bun.sleep(20);
  }
  Bun.gc(true);
  const usage = process.memoryUsage();
  const stats = heapStats();
  const status = procStatus(process.pid);
  return {
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    rss: usage.rss,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    jscHeapSize: stats.heapSize,
    objectCount: stats.objectCount,
    rssAnon: status.RssAnon ?? 0,
    rssFile: status.RssFile ?? 0,
    rssShmem: status.RssShmem ?? 0,
    objectTypeCounts: { ...stats.objectTypeCounts },
  };
}

/** The `kB` fields of `/proc/<pid>/status` (VmRSS, RssAnon, …), in bytes. */
export function procStatus(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, "utf8").split("\n")) {
    const match = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (match) out[match[1] as string] = Number(match[2]) * 1024;
  }
  return out;
}

/** The object types whose live count changed most between two readings (largest growth first). */
export function typeCountGrowth(
  before: Record<string, number>,
  after: Record<string, number>,
  top = 12,
): Array<{ type: string; before: number; after: number; delta: number }> {
  const types = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...types]
    .map((type) => ({ type, before: before[type] ?? 0, after: after[type] ?? 0 }))
    .map((row) => ({ ...row, delta: row.after - row.before }))
    .filter((row) => row.delta !== 0)
    .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta))
    .slice(0, top);
}

/** Bytes of every file directly in `dir` (the SQLite database, its WAL and shared-memory files). */
export function dirBytes(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of readdirSync(dir)) {
    const stat = statSync(join(dir, name));
    if (stat.isFile()) out[name] = stat.size;
  }
  return out;
}

/** Mebibytes (2^20 bytes) with one decimal, for printing. */
export function mib(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
