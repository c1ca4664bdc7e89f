import { afterEach, describe, expect, test } from "bun:test";
import { DispatchError } from "@dispatch/kernel";
import { settle } from "../test/fake-clock.ts";
import {
  codeOf,
  countedSignal,
  disposeManagers,
  grants,
  request,
  setup,
  T0,
} from "../test/manager-fixtures.ts";
import { createConcurrencyManager } from "./concurrency-manager.ts";
import type { Lease } from "./types.ts";

afterEach(disposeManagers);

describe("slots and grant order", () => {
  test("never grants more than the limit, and a freed slot goes to the oldest waiter", async () => {
    const { manager } = setup({ limit: 2 });
    const a = await manager.acquire(request());
    await manager.acquire(request());
    const queued = grants(manager, [
      request({ turnId: "late", promptStartedAt: T0 + 3_000 }),
      request({ turnId: "early", promptStartedAt: T0 + 2_000 }),
    ]);
    await settle();
    expect(manager.stats()[0]).toMatchObject({ inFlight: 2, queuedUnstarred: 2 });
    a.release();
    await settle();
    expect(queued.order).toEqual(["early"]);
    expect(manager.stats()[0]?.inFlight).toBe(2);
  });

  test("starred workspaces first, then oldest prompt, then arrival", async () => {
    const { manager } = setup();
    manager.setStarred("star", true);
    const held = await manager.acquire(request());
    const queued = grants(manager, [
      request({ turnId: "u-old", promptStartedAt: T0 + 10 }),
      request({ turnId: "s-new", workspaceId: "star", promptStartedAt: T0 + 50 }),
      request({ turnId: "s-old-1", workspaceId: "star", promptStartedAt: T0 + 20 }),
      request({ turnId: "s-old-2", workspaceId: "star", promptStartedAt: T0 + 20 }),
      request({ turnId: "u-new", promptStartedAt: T0 + 40 }),
    ]);
    expect(manager.snapshot()[0]?.queue.map((q) => q.turnId)).toEqual([
      "s-old-1",
      "s-old-2",
      "s-new",
      "u-old",
      "u-new",
    ]);
    let lease = held;
    for (let i = 0; i < 5; i++) {
      lease.release();
      await settle();
      lease = queued.leases[i] as Lease;
    }
    lease.release();
    expect(queued.order).toEqual(["s-old-1", "s-old-2", "s-new", "u-old", "u-new"]);
  });

  test("an unstarred waiter older than agingMs is served as if starred", async () => {
    const { clock, manager } = setup({ agingMs: 60_000 });
    manager.setStarred("star", true);
    const now = clock.now();
    const held = await manager.acquire(request());
    const queued = grants(manager, [
      request({ turnId: "starred", workspaceId: "star", promptStartedAt: now - 10_000 }),
      request({ turnId: "old", promptStartedAt: now - 50_000 }),
    ]);
    expect(manager.snapshot()[0]?.queue.map((q) => q.turnId)).toEqual(["starred", "old"]);
    clock.advance(20_000); // "old" is now 70 s old, past agingMs, and older than "starred"
    expect(manager.snapshot()[0]?.queue.map((q) => q.turnId)).toEqual(["old", "starred"]);
    held.release();
    await settle();
    expect(queued.order).toEqual(["old"]);
  });

  test("starring moves that workspace's queued waiters at once, across providers", async () => {
    const { manager } = setup();
    manager.setLimit("q", 1);
    const heldP = await manager.acquire(request());
    const heldQ = await manager.acquire(request({ providerId: "q" }));
    grants(manager, [
      request({ turnId: "p-other", workspaceId: "other", promptStartedAt: T0 + 1 }),
      request({ turnId: "p-mine", workspaceId: "mine", promptStartedAt: T0 + 2 }),
      request({ turnId: "q-other", providerId: "q", workspaceId: "other", promptStartedAt: T0 + 1 }),
      request({ turnId: "q-mine", providerId: "q", workspaceId: "mine", promptStartedAt: T0 + 2 }),
    ]);
    manager.setStarred("mine", true);
    const firsts = manager.snapshot().map((s) => s.queue[0]);
    expect(firsts.map((q) => q?.turnId)).toEqual(["p-mine", "q-mine"]);
    expect(firsts.every((q) => q?.starred)).toBe(true);
    manager.setStarred("mine", false);
    expect(manager.snapshot().map((s) => s.queue[0]?.turnId)).toEqual(["p-other", "q-other"]);
    heldP.release();
    heldQ.release();
  });

  test("forgetWorkspace drops the star, so a new workspace with that id starts unstarred", () => {
    const { manager } = setup();
    manager.setStarred("w", true);
    manager.forgetWorkspace("w");
    expect(manager.isStarred("w")).toBe(false);
  });

  test("a freed slot goes to the waiter, not to a caller arriving in the same tick", async () => {
    const { manager } = setup();
    const held = await manager.acquire(request());
    const waiter = manager.acquire(request({ turnId: "waiter" }));
    held.release();
    let lateGranted = false;
    const late = manager.acquire(request({ turnId: "late" })).then((l) => {
      lateGranted = true;
      return l;
    });
    const lease = await waiter;
    await settle();
    expect(lateGranted).toBe(false);
    lease.release();
    (await late).release();
  });

  test("release() is idempotent", async () => {
    const { manager } = setup({ limit: 2 });
    const a = await manager.acquire(request());
    const b = await manager.acquire(request());
    a.release();
    a.release();
    expect(manager.stats()[0]?.inFlight).toBe(1);
    b.release();
    expect(manager.stats()[0]?.inFlight).toBe(0);
  });

  test("onQueued runs once, only when the call had to wait", async () => {
    const { manager } = setup();
    let queued = 0;
    const held = await manager.acquire(request({ onQueued: () => queued++ }));
    expect(queued).toBe(0);
    const next = manager.acquire(request({ onQueued: () => queued++ }));
    expect(queued).toBe(1);
    held.release();
    (await next).release();
    expect(queued).toBe(1);
  });
});

describe("limits", () => {
  test("raising a limit grants waiters at once; lowering it keeps leases", async () => {
    const { manager } = setup({ limit: 1 });
    const a = await manager.acquire(request());
    const queued = grants(manager, [request({ turnId: "x" }), request({ turnId: "y" })]);
    manager.setLimit("p", 3);
    await settle();
    expect(queued.order).toEqual(["x", "y"]);
    manager.setLimit("p", 1);
    expect(manager.stats()[0]).toMatchObject({ inFlight: 3, maxConcurrent: 1 });
    const waiting = grants(manager, [request({ turnId: "z" })]);
    a.release();
    queued.leases[0]?.release();
    await settle();
    expect(waiting.order).toEqual([]);
    queued.leases[1]?.release();
    await settle();
    expect(waiting.order).toEqual(["z"]);
    waiting.leases[0]?.release();
  });

  test("an invalid limit is refused with one message shape", () => {
    const { manager } = setup();
    expect(() => manager.setLimit("p", 0)).toThrow(
      'Expected `maxConcurrent` of provider "p" to be an integer >= 1, got `0`',
    );
    expect(() => manager.setLimit("p", 1.5)).toThrow(DispatchError);
    expect(() => createConcurrencyManager({ maxQueue: -1 })).toThrow(
      "Expected `maxQueue` to be an integer >= 1",
    );
  });

  test("a non-finite promptStartedAt or a bad stallTimeoutMs is refused", async () => {
    const { manager } = setup();
    expect(await codeOf(manager.acquire(request({ promptStartedAt: Number.NaN })))).toBe("invalid_request");
    expect(await codeOf(manager.acquire(request({ stallTimeoutMs: 0 })))).toBe("invalid_request");
    expect(manager.stats()[0]?.inFlight).toBe(0);
  });

  test("a provider never given a limit: unknown_provider", async () => {
    const { manager } = setup();
    expect(await codeOf(manager.acquire(request({ providerId: "nope" })))).toBe("unknown_provider");
    expect(() => manager.pauseUntil("nope", Date.now() + 1000)).toThrow("nope");
  });

  test("the queue bound counts live waiters only; past it acquire fails at once", async () => {
    const { manager } = setup({ maxQueue: 2 });
    const held = await manager.acquire(request());
    const a = countedSignal();
    const first = manager.acquire(request({ signal: a.signal })).catch((e: unknown) => e);
    const second = manager.acquire(request());
    const full = manager.acquire(request());
    expect(await codeOf(full)).toBe("provider_queue_full");
    a.controller.abort(new Error("gone"));
    await first;
    const third = manager.acquire(request());
    expect(manager.stats()[0]?.queuedUnstarred).toBe(2);
    held.release();
    (await second).release();
    (await third).release();
  });
});

describe("aborts", () => {
  test("an already-aborted signal rejects at once with its reason, even with a free slot", async () => {
    const { manager } = setup();
    const { controller, signal, listeners } = countedSignal();
    const reason = new Error("before");
    controller.abort(reason);
    await expect(manager.acquire(request({ signal }))).rejects.toBe(reason);
    expect(manager.stats()[0]?.inFlight).toBe(0);
    expect(listeners()).toBe(0);
  });

  test("an aborted waiter leaves the queue, rejects with the reason, and loses its listener", async () => {
    const { manager } = setup();
    const held = await manager.acquire(request());
    const { controller, signal, listeners } = countedSignal();
    const pending = manager.acquire(request({ signal, turnId: "gone" }));
    expect(listeners()).toBe(1);
    const reason = new DispatchError("cancelled", "cancelled by the user");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(listeners()).toBe(0);
    expect(manager.snapshot()[0]?.queue).toEqual([]);
    held.release();
    expect(manager.stats()[0]?.inFlight).toBe(0);
  });

  test("a granted waiter's abort listener is removed at the grant", async () => {
    const { manager } = setup();
    const held = await manager.acquire(request());
    const { controller, signal, listeners } = countedSignal();
    const pending = manager.acquire(request({ signal }));
    held.release();
    const lease = await pending;
    expect(listeners()).toBe(0);
    controller.abort(new Error("after grant"));
    expect(manager.stats()[0]?.inFlight).toBe(1);
    lease.release();
  });
});
