import { afterEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { ExtensionRuntime } from "../src/extension-runtime.ts";
import {
  Counter,
  createHost,
  createMemoryLogger,
  createServiceRef,
  defineExtension,
  type Host,
  manifestSchema,
} from "../src/index.ts";
import { createTestHost } from "../src/testing.ts";
import { fake, hostOf, rejectionOf } from "./fixtures.ts";

declare module "../src/index.ts" {
  interface DispatchEvents {
    "kernel-test.ping": { n: number };
  }
}

const running: Host[] = [];
afterEach(async () => {
  for (const host of running.splice(0)) await host.stop();
});

async function started(...args: Parameters<typeof hostOf>) {
  const made = hostOf(...args);
  running.push(made.host);
  await made.host.start();
  return made;
}

/** Resolves on the next fault the host records. */
function nextFault(host: Host): Promise<string> {
  return new Promise((resolve) => {
    const off = host.faults.onFault((source) => {
      off();
      resolve(source);
    });
  });
}

describe("event bus", () => {
  test("delivers typed payloads in subscription order", async () => {
    const seen: string[] = [];
    const { host } = await started([
      fake("a", [], {
        activate: (ctx) => void ctx.bus.subscribe("kernel-test.ping", ({ n }) => void seen.push(`a${n}`)),
      }),
      fake("b", [], {
        activate: (ctx) => void ctx.bus.subscribe("kernel-test.ping", ({ n }) => void seen.push(`b${n}`)),
      }),
    ]);
    host.bus.publish("kernel-test.ping", { n: 1 });
    expect(seen).toEqual(["a1", "b1"]);
  });

  test("errors thrown by handlers are attributed to the subscriber; others still run", async () => {
    const seen: number[] = [];
    let publishedFine = false;
    const { host, records } = await started([
      fake("bad", [], {
        activate: (ctx) =>
          void ctx.bus.subscribe("kernel-test.ping", () => {
            throw new Error("handler broke");
          }),
      }),
      fake("good", [], {
        activate: (ctx) => void ctx.bus.subscribe("kernel-test.ping", ({ n }) => void seen.push(n)),
      }),
      fake("publisher", [], {
        activate: (ctx) =>
          ctx.onReady(() => {
            ctx.bus.publish("kernel-test.ping", { n: 7 });
            publishedFine = true;
          }),
      }),
    ]);
    expect(publishedFine).toBe(true);
    expect(seen).toEqual([7]);
    expect(host.faults.count("bad")).toBe(1);
    expect(host.faults.count("publisher")).toBe(0);
    const line = records.find((r) => r.msg.startsWith("fault caught"));
    expect(line).toMatchObject({ level: "error", source: "bad", kind: "bus:kernel-test.ping" });
    expect(line?.err).toMatchObject({
      message: "handler broke",
      stack: expect.stringContaining("context.test.ts"),
    });
    expect(host.status().extensions.find((e) => e.id === "bad")?.faults).toBe(1);
  });

  test("rejections from async handlers are attributed too", async () => {
    const { host } = await started([
      fake("async-bad", [], {
        activate: (ctx) =>
          void ctx.bus.subscribe("kernel-test.ping", async () => {
            await Promise.resolve();
            throw new Error("later");
          }),
      }),
    ]);
    const fault = nextFault(host);
    host.bus.publish("kernel-test.ping", { n: 1 });
    expect(await fault).toBe("async-bad");
    expect(host.faults.bySource()).toEqual({ "async-bad": 1 });
  });

  test("subscriptions are removed when their extension stops", async () => {
    const { host } = hostOf([
      fake("a", [], { activate: (ctx) => void ctx.bus.subscribe("kernel-test.ping", () => {}) }),
    ]);
    await host.start();
    expect(host.bus.listenerCount("kernel-test.ping")).toBe(1);
    await host.stop();
    expect(host.bus.listenerCount("kernel-test.ping")).toBe(0);
  });
});

describe("timers", () => {
  test("an error thrown from setTimeout is caught and attributed", async () => {
    const made = await started([
      fake("ticker", [], {
        activate: (ctx) =>
          void ctx.setTimeout(() => {
            throw new Error("timer broke");
          }, 1),
      }),
    ]);
    const source = await nextFault(made.host);
    expect(source).toBe("ticker");
    const line = made.records.find((r) => r.msg === "fault caught (timer)");
    expect(line?.source).toBe("ticker");
  });

  test("a rejecting interval keeps running and each failure is counted", async () => {
    const { host } = await started([
      fake("ticker", [], {
        activate: (ctx) => void ctx.setInterval(() => Promise.reject(new Error("tick failed")), 1),
      }),
    ]);
    await nextFault(host);
    await nextFault(host);
    expect(host.faults.count("ticker")).toBeGreaterThanOrEqual(2);
  });

  test("timers are cleared at shutdown", async () => {
    let ticks = 0;
    const { host } = hostOf([
      fake("ticker", [], {
        activate: (ctx) => {
          ctx.setInterval(() => {
            ticks++;
          }, 1);
          ctx.setTimeout(() => {
            ticks += 1000;
          }, 60_000);
        },
      }),
    ]);
    await host.start();
    while (ticks === 0) await Bun.sleep(2);
    await host.stop();
    const atStop = ticks;
    await Bun.sleep(20);
    expect(ticks).toBe(atStop);
    expect(atStop).toBeLessThan(1000);
  });

  test("one-shot timers forget themselves once they fire; all are cleared before disposers run", async () => {
    const { logger } = createMemoryLogger();
    const host = createHost({ extensions: [], dataDir: "/unused", logger });
    const definition = fake("ticker", []);
    const runtime = new ExtensionRuntime(definition, manifestSchema.parse(definition.manifest), {
      bus: host.bus,
      metrics: host.metrics,
      faults: host.faults,
      logger,
      host: host.info,
      directory: {
        providerOf: () => undefined,
        ownerOf: () => undefined,
        runtime: () => undefined,
        contributionsTo: () => [],
      },
    });
    const ctx = runtime.createContext(undefined);
    let fired = 0;
    const all = Array.from(
      { length: 100 },
      () =>
        new Promise<void>((done) => {
          ctx.setTimeout(() => {
            fired++;
            done();
          }, 1);
        }),
    );
    await Promise.all(all);
    expect(fired).toBe(100);
    expect(runtime.liveTimers).toBe(0);

    let late = false;
    ctx.setTimeout(() => {
      late = true;
    }, 1);
    ctx.setInterval(() => {
      late = true;
    }, 1);
    let timersAtDispose = -1;
    ctx.onDispose(async () => {
      timersAtDispose = runtime.liveTimers;
      await Bun.sleep(10);
    });
    await runtime.stop(5000);
    expect(timersAtDispose).toBe(0);
    expect(late).toBe(false);
  });

  test("a cancelled timer never fires", async () => {
    let fired = false;
    const { host } = await started([
      fake("ticker", [], {
        activate: (ctx) => {
          const cancel = ctx.setTimeout(() => {
            fired = true;
          }, 1);
          cancel();
        },
      }),
    ]);
    await Bun.sleep(10);
    expect(fired).toBe(false);
    expect(host.faults.total()).toBe(0);
  });
});

describe("context", () => {
  test("logger lines carry the extension id", async () => {
    const { records } = await started([
      fake("talker", [], { activate: (ctx) => ctx.logger.info("hi", { n: 1 }) }),
    ]);
    expect(records.find((r) => r.msg === "hi")).toMatchObject({ level: "info", ext: "talker", n: 1 });
  });

  test("metrics registered on ctx.metrics appear in the host registry", async () => {
    const { host } = await started([
      fake("counter", [], {
        activate: (ctx) => {
          new Counter({ name: "kernel_test_things_total", help: "things", registers: [ctx.metrics] }).inc(3);
        },
      }),
    ]);
    const text = await host.metrics.metrics();
    expect(text).toContain("kernel_test_things_total 3");
    expect(text).toContain("dispatch_faults_total");
  });

  test("reportFault counts against the extension and appears in the fault metric", async () => {
    const { host } = await started([
      fake("reporter", [], { activate: (ctx) => ctx.reportFault("lost-connection", new Error("gone")) }),
    ]);
    expect(host.faults.count("reporter")).toBe(1);
    expect(await host.metrics.metrics()).toContain(
      'dispatch_faults_total{source="reporter",kind="lost-connection"} 1',
    );
  });

  test("setHealth details appear in the status; a throwing reporter is a fault, not a crash", async () => {
    const { host } = await started([
      fake("healthy", [], { activate: (ctx) => ctx.setHealth(() => ({ queue: 2 })) }),
      fake("sick", [], {
        activate: (ctx) =>
          ctx.setHealth(() => {
            throw new Error("cannot tell");
          }),
      }),
    ]);
    const status = host.status();
    expect(status.extensions.find((e) => e.id === "healthy")?.health).toEqual({ queue: 2 });
    expect(status.extensions.find((e) => e.id === "sick")?.health).toEqual({
      error: "health reporter failed",
    });
    expect(host.faults.count("sick")).toBe(1);
    expect(status.faults).toEqual({ total: 1, bySource: { sick: 1 } });
  });

  test("ctx.host exposes the data dir, version and live status", async () => {
    let seen: { dataDir: string; version: string; states: string[] } | undefined;
    const ext = fake("peek", [], {
      activate: (ctx) =>
        ctx.onReady(() => {
          seen = {
            dataDir: ctx.host.dataDir,
            version: ctx.host.version,
            states: ctx.host.status().extensions.map((e) => e.state),
          };
        }),
    });
    const { host } = hostOf([ext]);
    running.push(host);
    await host.start();
    expect(seen).toEqual({ dataDir: "/nonexistent-test-data-dir", version: "0.0.0", states: ["active"] });
  });
});

describe("createTestHost", () => {
  const answerRef = createServiceRef<{ answer: number }>("answer");
  const answering = defineExtension({
    manifest: { id: "answering", version: "1.0.0" },
    provides: [answerRef],
    activate(ctx) {
      ctx.provide(answerRef, { answer: 42 });
      ctx.logger.info("answering from", { dataDir: ctx.host.dataDir });
    },
  });

  test("starts extensions in a temp data dir, hands out services, and cleans up", async () => {
    const t = await createTestHost({ extensions: [answering] });
    expect(t.get(answerRef).answer).toBe(42);
    expect(existsSync(t.dataDir)).toBe(true);
    expect(t.logs.some((r) => r.msg === "answering from" && r.dataDir === t.dataDir)).toBe(true);
    await t.stop();
    expect(existsSync(t.dataDir)).toBe(false);
  });

  test("a start-up failure rejects and still removes the temp dir", async () => {
    const broken = fake("broken", [], {
      critical: true,
      activate: (ctx) => {
        throw new Error(`cannot use ${ctx.host.dataDir}`);
      },
    });
    const error = (await rejectionOf(createTestHost({ extensions: [broken] }))) as Error;
    const dir = /cannot use (\S+)/.exec(error.message)?.[1];
    expect(dir).toContain("dispatch-test-");
    expect(existsSync(dir as string)).toBe(false);
  });
});
