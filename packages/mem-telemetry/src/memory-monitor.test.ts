import { describe, expect, test } from "bun:test";
import { createMemoryLogger, DispatchError, Registry } from "@dispatch/kernel";
import { registerMemoryMetrics } from "./memory-metrics.ts";
import { type MemoryLimit, MemoryMonitor } from "./memory-monitor.ts";
import type { MemorySample } from "./types.ts";

const gib = 1024 ** 3;

/** A monitor whose RSS the test sets, with an in-memory logger and a real registry. */
function setup(limit: MemoryLimit = { bytes: 10 * gib, source: "config" }) {
  let rss = 0;
  const sampler = (): MemorySample => ({
    at: 1,
    rssBytes: rss,
    heapUsedBytes: 11,
    heapTotalBytes: 22,
    externalBytes: 33,
    arrayBuffersBytes: 44,
  });
  const { logger, records } = createMemoryLogger();
  const registry = new Registry();
  const metrics = registerMemoryMetrics(registry);
  const monitor = new MemoryMonitor({
    sampler,
    limit,
    thresholds: { warnRatio: 0.7, shedRatio: 0.9 },
    logger,
    metrics,
  });
  const at = (fraction: number) => {
    rss = Math.round(fraction * 10 * gib);
    monitor.sample();
  };
  const value = async (name: string, labels: Record<string, string> = {}) => {
    const metric = await registry.getSingleMetric(name)?.get();
    return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
  };
  const messages = () => records.filter((r) => r.msg !== "memory sample").map((r) => `${r.level}: ${r.msg}`);
  return { monitor, records, registry, metrics, at, value, messages };
}

describe("MemoryMonitor", () => {
  test("sheds new turns above shedRatio, keeps shedding between the lines, accepts below warn", async () => {
    const { monitor, at, value } = setup();
    at(0.5);
    expect([monitor.level(), monitor.admitTurn()]).toEqual(["normal", undefined]);
    at(0.75);
    expect([monitor.level(), monitor.admitTurn()]).toEqual(["warn", undefined]);
    at(0.95);
    const refused = monitor.admitTurn();
    expect(monitor.level()).toBe("shed");
    expect(DispatchError.isInstance(refused) && refused.code).toBe("memory_pressure");
    expect(refused?.message).toBe(
      "memory at 95% of the limit 10.0 GiB; new turns are refused until it drops below 70% (running turns continue)",
    );
    expect((refused as DispatchError).details).toMatchObject({ limitBytes: 10 * gib, ratio: 0.95 });
    at(0.8);
    expect(monitor.level()).toBe("shed");
    expect(monitor.admitTurn()).toBeInstanceOf(Error);
    at(0.69);
    expect([monitor.level(), monitor.admitTurn()]).toEqual(["normal", undefined]);
    expect(await value("dispatch_memory_shed_turns_total")).toBe(2);
    expect(await value("dispatch_memory_pressure_level")).toBe(0);
    expect(monitor.health()).toMatchObject({ level: "normal", shedTurns: 2, limitSource: "config" });
  });

  test("warns once per crossing and says when pressure is over", () => {
    const { at, messages } = setup();
    for (const f of [0.5, 0.75, 0.76, 0.8, 0.5, 0.71, 0.72, 0.92, 0.93, 0.85, 0.6]) at(f);
    expect(messages()).toEqual([
      "warn: memory above the warn line",
      "info: memory back below the warn line",
      "warn: memory above the warn line",
      "warn: memory pressure: refusing new turns",
      "info: memory pressure over: accepting new turns",
    ]);
  });

  test("each sample is one JSON-able log line with every figure, and sets the gauges", async () => {
    const { at, records, value } = setup();
    at(0.75);
    const lines = records.filter((r) => r.msg === "memory sample");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(JSON.stringify(lines[0]))).toMatchObject({
      // Per-turn (on-demand) samples log at debug; interval samples at info (next test).
      level: "debug",
      pressure: "warn",
      source: "on-demand",
      rssBytes: Math.round(7.5 * gib),
      heapUsedBytes: 11,
      heapTotalBytes: 22,
      externalBytes: 33,
      arrayBuffersBytes: 44,
      limitBytes: 10 * gib,
      ratio: 0.75,
    });
    expect(await value("dispatch_process_memory_bytes", { kind: "rss" })).toBe(Math.round(7.5 * gib));
    expect(await value("dispatch_process_memory_bytes", { kind: "array_buffers" })).toBe(44);
    expect(await value("dispatch_memory_limit_bytes")).toBe(10 * gib);
    expect(await value("dispatch_memory_pressure_level")).toBe(1);
    const { monitor, records: intervalRecords } = setup();
    monitor.sample("interval");
    expect(intervalRecords.find((r) => r.msg === "memory sample")?.level).toBe("info");
  });

  test("without a limit nothing is ever refused and the limit gauge reads 0", async () => {
    const { monitor, at, value, messages } = setup({ bytes: null, source: "none" });
    at(1000);
    expect([monitor.level(), monitor.admitTurn(), monitor.limitBytes()]).toEqual(["normal", undefined, null]);
    expect(await value("dispatch_memory_limit_bytes")).toBe(0);
    expect(messages()).toEqual([]);
  });

  test("unregister removes every metric, so a second registration on the same registry works", () => {
    const { registry, metrics } = setup();
    metrics.unregister();
    expect(registry.getMetricsAsArray()).toHaveLength(0);
    expect(() => registerMemoryMetrics(registry)).not.toThrow();
  });
});
