import { afterEach, describe, expect, test } from "bun:test";
import { createHost, createMemoryLogger } from "@dispatch/kernel";
import fc from "fast-check";
import { FaultWindow, installCrashGuards } from "./crash-guards.ts";

describe("FaultWindow", () => {
  test("trips exactly when more than `budget` faults fall inside the window", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 60 }),
        (budget, windowMs, gaps) => {
          const window = new FaultWindow(budget, windowMs);
          const times: number[] = [];
          let now = 0;
          for (const gap of gaps) {
            now += gap;
            times.push(now);
            const inWindow = times.filter((t) => t > now - windowMs).length;
            expect(window.add(now)).toBe(inWindow > budget);
            expect(window.size).toBeLessThanOrEqual(budget + 1);
          }
        },
      ),
    );
  });
});

describe("installCrashGuards", () => {
  let remove: (() => void) | undefined;
  afterEach(() => {
    remove?.();
    remove = undefined;
  });

  function setup(budget: number) {
    const { logger, records } = createMemoryLogger();
    const { faults } = createHost({ extensions: [], dataDir: "/unused", logger });
    const tripped: number[] = [];
    remove = installCrashGuards({
      faults,
      logger,
      budget,
      windowMs: 60_000,
      onBudgetExceeded: (n) => tripped.push(n),
      now: () => 1_000,
    });
    return { faults, records, tripped };
  }

  test("process faults are counted under `process`, logged with their stack, and spend the budget once", () => {
    const { faults, records, tripped } = setup(2);
    process.emit("uncaughtException", new Error("boom"));
    process.emit("unhandledRejection", new Error("nobody caught me"), Promise.resolve());
    expect(faults.bySource()).toEqual({ process: 2 });
    expect(records.map((r) => r.kind)).toEqual(["uncaughtException", "unhandledRejection"]);
    expect(records[0]).toMatchObject({
      err: { message: "boom", stack: expect.stringContaining("Error: boom") },
    });
    expect(tripped).toEqual([]);

    faults.record("some-extension", "timer", new Error("third"));
    faults.record("some-extension", "timer", new Error("fourth"));
    expect(tripped).toEqual([3]);
    expect(records.filter((r) => r.msg === "fault budget exceeded: shutting down")).toHaveLength(1);
  });

  test("removing the guards removes the process listeners", () => {
    const before = process.listenerCount("uncaughtException");
    setup(1);
    expect(process.listenerCount("uncaughtException")).toBe(before + 1);
    remove?.();
    remove = undefined;
    expect(process.listenerCount("uncaughtException")).toBe(before);
  });
});
