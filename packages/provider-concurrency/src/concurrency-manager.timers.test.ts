import { afterEach, describe, expect, test } from "bun:test";
import type { DispatchError } from "@dispatch/kernel";
import { settle } from "../test/fake-clock.ts";
import {
  codeOf,
  countedSignal,
  disposeManagers,
  grants,
  request,
  setup,
  track,
} from "../test/manager-fixtures.ts";
import { type Clock, systemClock } from "./clock.ts";
import { createConcurrencyManager } from "./concurrency-manager.ts";

afterEach(disposeManagers);

describe("cooling (pauseUntil)", () => {
  test("no grants until the pause passes; then grants resume by themselves", async () => {
    const { clock, manager } = setup({ limit: 2 });
    const until = clock.now() + 30_000;
    manager.pauseUntil("p", until);
    manager.pauseUntil("p", until - 10_000); // an earlier end does not shorten the pause
    expect(manager.snapshot()[0]?.coolingUntil).toBe(until);
    const queued = grants(manager, [request({ turnId: "a" })]);
    await settle();
    expect(queued.order).toEqual([]);
    clock.advance(29_999);
    await settle();
    expect(queued.order).toEqual([]);
    clock.advance(1);
    await settle();
    expect(queued.order).toEqual(["a"]);
    expect(manager.snapshot()[0]?.coolingUntil).toBeNull();
    queued.leases[0]?.release();
  });

  test("with the system clock, a short pause ends on its own timer", async () => {
    const manager = track(createConcurrencyManager({ watchdogIntervalMs: 60_000 }));
    manager.setLimit("p", 1);
    manager.pauseUntil("p", Date.now() + 20);
    const lease = await manager.acquire(request());
    expect(manager.snapshot()[0]?.coolingUntil).toBeNull();
    lease.release();
  });
});

describe("long pauses", () => {
  test("a pause past setTimeout's 2^31 ms limit waits on one timer instead of re-arming every millisecond", async () => {
    // The real clock, counting the timers the manager asks it for.
    let timersArmed = 0;
    const clock: Clock = {
      ...systemClock,
      setTimeout: (fn, ms) => {
        timersArmed++;
        return systemClock.setTimeout(fn, ms);
      },
    };
    const manager = track(createConcurrencyManager({ clock, watchdogIntervalMs: 60_000 }));
    manager.setLimit("p", 1);
    const until = Date.now() + 2 ** 31 + 60_000;
    manager.pauseUntil("p", until);
    const waiting = manager.acquire(request({ turnId: "held" }));
    waiting.catch(() => {});
    await Bun.sleep(50);
    // Before, the overflowing delay fired after 1 ms and re-armed for "the rest", over and over.
    expect(timersArmed).toBe(1);
    expect(manager.snapshot()[0]?.coolingUntil).toBe(until);
    expect(manager.snapshot()[0]?.queue.map((w) => w.turnId)).toEqual(["held"]);
  });

  test("a pause that never ends (Infinity, NaN) is refused with a clear error", () => {
    const { manager } = setup();
    for (const until of [Number.POSITIVE_INFINITY, Number.NaN]) {
      expect(() => manager.pauseUntil("p", until)).toThrow(
        `Expected \`untilEpochMs\` of provider "p" to be a finite epoch-ms number, got \`${until}\``,
      );
    }
    expect(manager.snapshot()[0]?.coolingUntil).toBeNull();
  });

  test("a watchdog period past the timer limit is refused", () => {
    expect(() => createConcurrencyManager({ watchdogIntervalMs: 2 ** 31 })).toThrow(
      "Expected `watchdogIntervalMs` to be an integer from 1 to 2147483647, got `2147483648`",
    );
  });
});

describe("watchdog", () => {
  test("one interval timer for the whole manager, cleared by dispose", async () => {
    const { clock, manager } = setup({ limit: 50 });
    expect(clock.pendingTimers).toBe(1);
    const leases = await Promise.all(
      Array.from({ length: 50 }, () => manager.acquire(request({ stallTimeoutMs: 1000 }))),
    );
    expect(clock.pendingTimers).toBe(1);
    for (const l of leases) l.release();
    manager.dispose();
    expect(clock.pendingTimers).toBe(0);
  });

  test("a lease silent past stallTimeoutMs is aborted with `stalled` and its slot handed on", async () => {
    let stalled = 0;
    const { clock, manager } = setup({ watchdogIntervalMs: 100, observer: { stalled: () => stalled++ } });
    const lease = await manager.acquire(request({ stallTimeoutMs: 1_000 }));
    const next = manager.acquire(request({ turnId: "next" }));
    clock.advance(900);
    lease.touch();
    clock.advance(900);
    expect(lease.signal.aborted).toBe(false);
    clock.advance(200);
    expect(lease.signal.aborted).toBe(true);
    expect((lease.signal.reason as DispatchError).code).toBe("stalled");
    expect(stalled).toBe(1);
    const granted = await next;
    expect(manager.stats()[0]?.inFlight).toBe(1);
    lease.release(); // the holder's own release afterwards is a no-op
    expect(manager.stats()[0]?.inFlight).toBe(1);
    granted.release();
  });

  test("a lease held past maxLeaseMs is reclaimed with an error log and a counter", async () => {
    let reclaimed = 0;
    const { clock, manager, records } = setup({
      maxLeaseMs: 5_000,
      observer: { reclaimed: () => reclaimed++ },
    });
    const lease = await manager.acquire(request());
    const signal = lease.signal;
    clock.advance(6_000);
    expect(signal.aborted).toBe(true);
    expect((signal.reason as DispatchError).code).toBe("lease_reclaimed");
    expect(reclaimed).toBe(1);
    expect(records.filter((r) => r.level === "error")).toHaveLength(1);
    expect(manager.leaseCount).toBe(0);
  });
});

describe("dispose", () => {
  test("rejects every waiter with `shutdown`, removes listeners, and refuses new calls", async () => {
    const { manager } = setup();
    const held = await manager.acquire(request());
    const { signal, listeners } = countedSignal();
    const pending = manager.acquire(request({ signal }));
    manager.dispose();
    expect(await codeOf(pending)).toBe("shutdown");
    expect(listeners()).toBe(0);
    expect(await codeOf(manager.acquire(request()))).toBe("shutdown");
    held.release();
  });
});

describe("snapshot", () => {
  test("shows in-flight counts and the queue in grant order with turn, workspace, star and wait", async () => {
    const { clock, manager } = setup();
    manager.setStarred("s", true);
    const held = await manager.acquire(request());
    const a = manager.acquire(request({ turnId: "t1", conversationId: "c1", workspaceId: "u" }));
    clock.advance(500);
    const b = manager.acquire(request({ turnId: "t2", workspaceId: "s" }));
    clock.advance(250);
    expect(manager.snapshot()).toEqual([
      {
        providerId: "p",
        maxConcurrent: 1,
        inFlight: 1,
        coolingUntil: null,
        queue: [
          { turnId: "t2", conversationId: null, workspaceId: "s", starred: true, waitingMs: 250 },
          { turnId: "t1", conversationId: "c1", workspaceId: "u", starred: false, waitingMs: 750 },
        ],
      },
    ]);
    held.release();
    (await b).release();
    (await a).release();
  });
});
