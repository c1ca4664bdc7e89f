import { describe, expect, test } from "bun:test";
import type { ExtensionContext } from "../src/index.ts";
import { fake, hostOf } from "./fixtures.ts";

describe("shutdown", () => {
  test("runs in exact reverse activation order: disposers last-in-first-out, then deactivate", async () => {
    const journal: string[] = [];
    const withDisposers = (id: string) => (ctx: ExtensionContext<unknown>) => {
      ctx.onDispose(() => void journal.push(`${id}:first`));
      ctx.onDispose(() => void journal.push(`${id}:second`));
    };
    const { host } = hostOf([
      fake("c", journal, { dependsOn: ["b"], activate: withDisposers("c") }),
      fake("a", journal, { activate: withDisposers("a") }),
      fake("b", journal, { dependsOn: ["a"], activate: withDisposers("b") }),
    ]);
    await host.start();
    journal.length = 0;
    const report = await host.stop();
    expect(report).toEqual({ stopped: ["c", "b", "a"], errors: [], timedOut: [] });
    expect(journal).toEqual([
      "c:second",
      "c:first",
      "deactivate:c",
      "b:second",
      "b:first",
      "deactivate:b",
      "a:second",
      "a:first",
      "deactivate:a",
    ]);
    expect(host.status().extensions.every((e) => e.state === "stopped")).toBe(true);
  });

  test("an extension that does not stop in time is abandoned and the rest still stop", async () => {
    const journal: string[] = [];
    const { host, records } = hostOf(
      [
        fake("a", journal),
        fake("b", journal, {
          dependsOn: ["a"],
          activate: (ctx) => ctx.onDispose(() => new Promise<void>(() => {})),
        }),
      ],
      { shutdownTimeoutMs: 50 },
    );
    await host.start();
    const report = await host.stop();
    expect(report.stopped).toEqual(["b", "a"]);
    expect(report.timedOut).toEqual(["b"]);
    expect(report.errors).toEqual([{ extensionId: "b", message: "did not stop within 50 ms" }]);
    expect(journal).toContain("deactivate:a");
    expect(records.some((r) => r.msg === "shutdown error" && r.ext === "b")).toBe(true);
  });

  test("errors are collected, never thrown, and every disposer still runs", async () => {
    const journal: string[] = [];
    const { host } = hostOf([
      fake("a", journal, {
        activate: (ctx) => {
          ctx.onDispose(() => void journal.push("a:first"));
          ctx.onDispose(() => {
            throw new Error("dispose failed");
          });
        },
        deactivate: () => Promise.reject(new Error("deactivate failed")),
      }),
    ]);
    await host.start();
    const report = await host.stop();
    expect(report.errors).toEqual([
      { extensionId: "a", message: "dispose failed" },
      { extensionId: "a", message: "deactivate failed" },
    ]);
    expect(journal).toEqual(["activate:a", "a:first", "deactivate:a"]);
  });

  test("the shutdown signal fires before the disposers run", async () => {
    let abortedWhenDisposing: boolean | undefined;
    let reason: unknown;
    const { host } = hostOf([
      fake("a", [], {
        activate: (ctx) => {
          ctx.signal.addEventListener("abort", () => {
            reason = ctx.signal.reason;
          });
          ctx.onDispose(() => {
            abortedWhenDisposing = ctx.signal.aborted;
          });
        },
      }),
    ]);
    await host.start();
    await host.stop();
    expect(abortedWhenDisposing).toBe(true);
    expect((reason as { code?: string }).code).toBe("shutdown");
  });

  test("stop is idempotent: a second call returns the same report without stopping twice", async () => {
    const journal: string[] = [];
    const { host } = hostOf([fake("a", journal)]);
    await host.start();
    const [first, second] = await Promise.all([host.stop(), host.stop()]);
    const third = await host.stop();
    expect(second).toBe(first);
    expect(third).toBe(first);
    expect(journal.filter((j) => j === "deactivate:a")).toHaveLength(1);
  });

  test("failed and skipped extensions are not deactivated at shutdown", async () => {
    const journal: string[] = [];
    const { host } = hostOf([
      fake("a", journal, {
        activate: () => {
          throw new Error("nope");
        },
      }),
      fake("b", journal, { dependsOn: ["a"] }),
      fake("c", journal),
    ]);
    await host.start();
    const report = await host.stop();
    expect(report.stopped).toEqual(["c"]);
    expect(journal).toEqual(["activate:a", "activate:c", "deactivate:c"]);
  });
});

describe("stop during start-up", () => {
  test("waits for the activation under way, activates nothing more, and stops what started", async () => {
    const journal: string[] = [];
    const gate = Promise.withResolvers<void>();
    let ticks = 0;
    const { host } = hostOf([
      fake("a", journal, {
        activate: async (ctx) => {
          ctx.setInterval(() => {
            ticks++;
          }, 1);
          await gate.promise;
        },
      }),
      fake("b", journal, { dependsOn: ["a"] }),
    ]);
    const starting = host.start();
    await Bun.sleep(5);
    let stopped = false;
    const stopping = host.stop().then((report) => {
      stopped = true;
      return report;
    });
    await Bun.sleep(5);
    // it must not claim to be done while "a" is still activating
    expect(stopped).toBe(false);
    gate.resolve();
    await starting;
    const report = await stopping;
    expect(report.stopped).toEqual(["a"]);
    expect(journal).toEqual(["activate:a", "deactivate:a"]);
    const states = Object.fromEntries(host.status().extensions.map((e) => [e.id, e.state]));
    expect(states).toEqual({ a: "stopped", b: "skipped" });
    const after = ticks;
    await Bun.sleep(10);
    expect(ticks).toBe(after);
  });
});
