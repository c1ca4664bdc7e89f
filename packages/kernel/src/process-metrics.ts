import osMemoryHeap from "prom-client/lib/metrics/osMemoryHeap";
import processMaxFileDescriptors from "prom-client/lib/metrics/processMaxFileDescriptors";
import processOpenFileDescriptors from "prom-client/lib/metrics/processOpenFileDescriptors";
import processStartTime from "prom-client/lib/metrics/processStartTime";
import { Counter, type Registry } from "./metrics.ts";

/**
 * Registers the standard `process_*` metrics on a host's registry: prom-client's own collectors for
 * start time, memory and file descriptors (each loaded alone, not through prom-client's index), and
 * CPU time here, because prom-client's CPU collector loads `@opentelemetry/api` for exemplars (15-45 ms
 * of start-up measured here; notes/benchmarks.md). All of them read their values when scraped: no
 * timer, no listener, nothing to dispose. The `nodejs_*` defaults are left out on purpose: the event
 * loop monitor and the GC observer keep running with no way to stop them.
 */
export function registerProcessMetrics(registry: Registry): void {
  processStartTime(registry);
  osMemoryHeap(registry);
  processOpenFileDescriptors(registry);
  processMaxFileDescriptors(registry);
  const registers = [registry];
  new Counter({
    name: "process_cpu_user_seconds_total",
    help: "Total user CPU time spent in seconds.",
    registers,
    // One reading sets all three, so they always agree. The registry reads metrics in registration
    // order, so this one, registered first, has set the other two before they are read. CPU time
    // counts from the process's start.
    collect() {
      const usage = process.cpuUsage();
      for (const [counter, micros] of [
        [this, usage.user],
        [system, usage.system],
        [total, usage.user + usage.system],
      ] as const) {
        counter.reset();
        counter.inc(micros / 1e6);
      }
    },
  });
  const system = new Counter({
    name: "process_cpu_system_seconds_total",
    help: "Total system CPU time spent in seconds.",
    registers,
  });
  const total = new Counter({
    name: "process_cpu_seconds_total",
    help: "Total user and system CPU time spent in seconds.",
    registers,
  });
}
