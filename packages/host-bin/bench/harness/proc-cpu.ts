/** CPU time and memory of a process read from `/proc`, for benchmarks that measure another process. */

import { readdirSync, readFileSync } from "node:fs";

/** Kernel clock ticks per second (`getconf CLK_TCK`; 100 on every Linux we run on). */
const ticksPerSecond = 100;

/** What `cpuSince` needs from the start of a phase: each live thread's CPU, and the process's ticks. */
export interface CpuMark {
  readonly pid: number;
  readonly threadsNs: ReadonlyMap<string, number>;
  readonly statMs: number;
}

/** Marks the start of a phase whose CPU `cpuSince` reads. */
export function cpuMark(pid: number): CpuMark {
  return { pid, threadsNs: threadsNs(pid), statMs: statCpuMs(pid) };
}

/**
 * CPU time (user + system) the process used since `mark`, in ms: summed over its threads from
 * `/proc/<pid>/task/<tid>/schedstat` (nanoseconds), so a short phase is not rounded to 10 ms ticks.
 * A thread that ended in between takes its time with it (summing whole lives once read a phase as
 * negative), so when the process's own `utime + stime` ticks, which keep ended threads' time, show
 * more than two ticks beyond the threads' sum, the ticks answer.
 */
export function cpuSince(mark: CpuMark): number {
  let ns = 0;
  for (const [tid, after] of threadsNs(mark.pid)) ns += after - (mark.threadsNs.get(tid) ?? 0);
  const fromThreads = ns / 1e6;
  const fromTicks = statCpuMs(mark.pid) - mark.statMs;
  return fromTicks > fromThreads + 2000 / ticksPerSecond ? fromTicks : fromThreads;
}

function threadsNs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/**
 * CPU ms per thread name (`comm`: `JITWorker`, `HeapHelper`, `HTTP Client`, `mi-scavenger`, …),
 * threads of one name summed; the main (JavaScript) thread is `main` whatever its name.
 */
export function threadCpuMs(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name =
        tid === String(pid) ? "main" : readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      out[name] = (out[name] ?? 0) + ns / 1e6;
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** `after - before` per key (a thread name seen only after counts from zero). */
export function cpuDelta(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, ms] of Object.entries(after)) out[name] = ms - (before[name] ?? 0);
  return out;
}

/** utime + stime of `/proc/<pid>/stat`, in ms (10 ms resolution). */
export function statCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name is in parentheses and may hold spaces: count fields after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / ticksPerSecond;
}

/** Resident set size (`VmRSS`) in bytes. */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match === null ? Number.NaN : Number(match[1]) * 1024;
}

/** The 1-minute load average, for the record beside each figure. */
export function loadAverage(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}
