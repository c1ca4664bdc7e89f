import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DispatchError } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { createMemTelemetryExtension, type MemorySample, memoryTelemetryRef } from "../src/index.ts";

const mib = 1024 ** 2;

/** A sampler whose RSS the test sets; counts its calls. */
function scriptedSampler() {
  const state = { rss: 100 * mib, calls: 0 };
  const sampler = (): MemorySample => {
    state.calls++;
    return {
      at: Date.now(),
      rssBytes: state.rss,
      heapUsedBytes: 1,
      heapTotalBytes: 2,
      externalBytes: 3,
      arrayBuffersBytes: 4,
    };
  };
  return { state, sampler };
}

/** A fake cgroup v2 tree whose own cgroup has `memory.max` = `max`. */
function fakeCgroup(max: string) {
  const dir = mkdtempSync(join(tmpdir(), "dispatch-cgroup-"));
  mkdirSync(join(dir, "cg/dispatch.service"), { recursive: true });
  writeFileSync(join(dir, "cg/dispatch.service/memory.max"), `${max}\n`);
  writeFileSync(join(dir, "self"), "0::/dispatch.service\n");
  return { dir, locations: { root: join(dir, "cg"), procSelfCgroup: join(dir, "self") } };
}

let host: TestHost | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await host?.stop();
  host = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function health(h: TestHost) {
  return h.host.status().extensions.find((e) => e.id === "mem-telemetry")?.health;
}

describe("mem-telemetry extension", () => {
  test("with a config limit: samples at start, sheds above shedRatio, accepts again below warnRatio", async () => {
    const { state, sampler } = scriptedSampler();
    host = await createTestHost({
      extensions: [createMemTelemetryExtension({ sampler })],
      config: { telemetry: { memory: { limitBytes: 1000 * mib, intervalMs: 3_600_000 } } },
    });
    const telemetry = host.get(memoryTelemetryRef);
    expect(state.calls).toBe(1);
    expect(telemetry.limitBytes()).toBe(1000 * mib);
    expect(health(host)).toMatchObject({ level: "normal", limitBytes: 1000 * mib, limitSource: "config" });

    state.rss = 950 * mib;
    telemetry.sample();
    const refused = telemetry.admitTurn();
    expect(DispatchError.isInstance(refused) && refused.code).toBe("memory_pressure");
    state.rss = 800 * mib;
    telemetry.sample();
    expect(telemetry.admitTurn()).toBeDefined();
    state.rss = 600 * mib;
    telemetry.sample();
    expect(telemetry.admitTurn()).toBeUndefined();

    const text = await host.host.metrics.metrics();
    expect(text).toContain('dispatch_process_memory_bytes{kind="rss"} 629145600');
    expect(text).toContain(`dispatch_memory_limit_bytes ${1000 * mib}`);
    expect(text).toContain("dispatch_memory_pressure_level 0");
    expect(text).toContain("dispatch_memory_shed_turns_total 2");
    const mine = host.logs.filter((r) => r.ext === "mem-telemetry");
    expect(mine.filter((r) => r.msg === "memory sample").map((r) => r.source)).toEqual([
      "start",
      "on-demand",
      "on-demand",
      "on-demand",
    ]);
    expect(mine.filter((r) => r.level === "warn").map((r) => r.msg)).toEqual([
      "memory pressure: refusing new turns",
    ]);
    expect(health(host)).toMatchObject({
      level: "normal",
      shedTurns: 2,
      lastSample: { rssBytes: 600 * mib },
    });
  });

  test("samples on its interval, and stops sampling and unregisters its metrics at shutdown", async () => {
    const { state, sampler } = scriptedSampler();
    host = await createTestHost({
      extensions: [createMemTelemetryExtension({ sampler })],
      config: { telemetry: { memory: { intervalMs: 100 } } },
    });
    const h = host;
    await waitFor(() => state.calls >= 3);
    expect(h.logs.some((r) => r.msg === "memory sample" && r.source === "interval")).toBe(true);
    await h.stop();
    host = undefined;
    const after = state.calls;
    expect(await h.host.metrics.metrics()).not.toMatch(/dispatch_(process_)?memory/);
    await Bun.sleep(350);
    expect(state.calls).toBe(after);
  });

  test("without a config limit it uses the cgroup's; a config limit wins over it", async () => {
    const cgroup = fakeCgroup(String(512 * mib));
    dirs.push(cgroup.dir);
    const { sampler } = scriptedSampler();
    host = await createTestHost({
      extensions: [createMemTelemetryExtension({ sampler, cgroup: cgroup.locations })],
    });
    expect(host.get(memoryTelemetryRef).limitBytes()).toBe(512 * mib);
    expect(health(host)).toMatchObject({
      limitSource: "cgroup-v2",
      limitFile: join(cgroup.locations.root, "dispatch.service/memory.max"),
    });
    await host.stop();

    host = await createTestHost({
      extensions: [createMemTelemetryExtension({ sampler, cgroup: cgroup.locations })],
      config: { telemetry: { memory: { limitBytes: 2048 * mib } } },
    });
    expect(host.get(memoryTelemetryRef).limitBytes()).toBe(2048 * mib);
    expect(health(host)).toMatchObject({ limitSource: "config" });
  });

  test('a cgroup "max" means no limit: nothing is refused however large RSS gets', async () => {
    const cgroup = fakeCgroup("max");
    dirs.push(cgroup.dir);
    const { state, sampler } = scriptedSampler();
    host = await createTestHost({
      extensions: [createMemTelemetryExtension({ sampler, cgroup: cgroup.locations })],
    });
    const telemetry = host.get(memoryTelemetryRef);
    state.rss = 1024 * 1024 * mib;
    telemetry.sample();
    expect([telemetry.limitBytes(), telemetry.level(), telemetry.admitTurn()]).toEqual([
      null,
      "normal",
      undefined,
    ]);
    expect(host.logs.some((r) => r.msg.startsWith("no memory limit found"))).toBe(true);
  });

  test("an unreadable cgroup file is a logged warning, not a failed extension", async () => {
    const cgroup = fakeCgroup("garbage");
    dirs.push(cgroup.dir);
    host = await createTestHost({
      extensions: [
        createMemTelemetryExtension({ sampler: scriptedSampler().sampler, cgroup: cgroup.locations }),
      ],
    });
    expect(host.host.status().extensions[0]?.state).toBe("active");
    expect(host.get(memoryTelemetryRef).limitBytes()).toBeNull();
    const warning = host.logs.find((r) => r.msg === "could not read the cgroup memory limit");
    expect(String(warning?.message)).toContain('memory.max: expected a byte count or "max", got "garbage"');
  });

  test("an invalid config stops start-up with the JSON path", async () => {
    await expect(
      createTestHost({
        extensions: [createMemTelemetryExtension({ sampler: scriptedSampler().sampler })],
        config: { telemetry: { memory: { warnRatio: 0.9, shedRatio: 0.9 } } },
      }),
    ).rejects.toThrow(
      "telemetry.memory.warnRatio: Expected `warnRatio` to be below `shedRatio` (0.9), got `0.9`",
    );
  });
});

/** Polls until `ready()` holds; fails the test after 5 s instead of hanging. */
async function waitFor(ready: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error("condition not met within 5 s");
    await Bun.sleep(20);
  }
}
