import { afterEach, describe, expect, test } from "bun:test";
import { conversationStoreRef } from "@dispatch/conversation-store";
import { DispatchError } from "@dispatch/kernel";
import type { Task } from "@dispatch/wire";
import { nextDayStart } from "../src/day-key.ts";
import type { TaskQueueDeps } from "../src/task-queue.ts";
import { manualClock, queueHost } from "./fixtures.ts";

const stops: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function setup(config: Parameters<typeof queueHost>[0] = {}, publish?: TaskQueueDeps["publish"]) {
  const clock = manualClock(Date.UTC(2026, 11, 1, 12, 0));
  const h = await queueHost(config, { clock, ...(publish ? { publish } : {}) });
  stops.push(() => h.test.stop());
  await h.test.get(conversationStoreRef).workspaces.create({ id: "ws", root: "/tmp/ws" });
  return { ...h, clock };
}

const codeOf = (error: unknown) => (DispatchError.isInstance(error) ? error.code : String(error));

describe("the task queue", () => {
  test("a workspace's breaker opens after failures in a row, holds its queue back, and resume closes it", async () => {
    const {
      queue,
      clock,
      test: host,
    } = await setup({ breaker: { failures: 2, cooldownMs: 60_000 }, maxRunning: 5 });
    await host.get(conversationStoreRef).workspaces.create({ id: "other", root: "/tmp/other" });
    for (let i = 0; i < 2; i++) {
      const task = await queue.create({ workspaceId: "ws", spec: `broken ${i}`, options: {} });
      const claimed = await queue.claim();
      expect("n" in claimed && claimed.id).toBe(task.id);
      await queue.fail(task.id, 1, { status: "failed", message: "no", retryable: false });
    }
    const held = await queue.create({ workspaceId: "ws", spec: "held", options: {} });
    const free = await queue.create({ workspaceId: "other", spec: "free", options: {} });
    expect(await queue.openBreakers()).toEqual([
      { workspaceId: "ws", failures: 0, openUntil: clock() + 60_000 },
    ]);
    const next = await queue.claim();
    expect("n" in next && next.id).toBe(free.id);
    expect(await queue.claim()).toEqual({ reason: "empty" });
    await queue.resume("ws");
    const resumed = await queue.claim();
    expect("n" in resumed && resumed.id).toBe(held.id);
  });

  test("the token budget of the day stops claims until the next day starts, in the configured time zone", async () => {
    const { queue, clock } = await setup({ dailyBudget: { tokens: 100 }, timeZone: "Europe/Paris" });
    const a = await queue.create({ workspaceId: "ws", spec: "a", options: {} });
    await queue.create({ workspaceId: "ws", spec: "b", options: {} });
    await queue.claim();
    await queue.complete(a.id, 1, {}, 150);
    const refused = await queue.claim();
    expect(refused).toEqual({ reason: "budget", until: nextDayStart(clock(), "Europe/Paris") });
    // midnight in Paris is 23:00 UTC in December
    expect(new Date(nextDayStart(clock(), "Europe/Paris")).toISOString()).toBe("2026-12-01T23:00:00.000Z");
    clock.now = nextDayStart(clock(), "Europe/Paris");
    expect("n" in (await queue.claim())).toBe(true);
    expect(await queue.budgetUsed()).toEqual({ day: "2026-12-02", attempts: 1, tokens: 0 });
  });

  test("a budget failure does not count against maxAttempts and waits for the next day, then runs again", async () => {
    const { queue, clock } = await setup();
    const task = await queue.create({ workspaceId: "ws", spec: "x", options: {} });
    await queue.claim();
    await queue.fail(task.id, 1, { status: "failed", message: "budget", retryable: false, budget: true });
    const after = await queue.get(task.id);
    expect(after).toMatchObject({
      status: "queued",
      attempt: 1,
      maxAttempts: task.maxAttempts + 1,
      nextRunAt: new Date(nextDayStart(clock(), "UTC")).toISOString(),
    });
    // the next day the claim numbers its attempt after the spent one (it once reused n = 1 and
    // failed on the attempts table's key, every claim after it too)
    clock.now = nextDayStart(clock(), "UTC");
    expect(await queue.claim()).toMatchObject({ id: task.id, n: 2 });
    expect((await queue.get(task.id))?.attempts).toMatchObject([
      { n: 1, status: "failed", error: "budget" },
      { n: 2, status: "running" },
    ]);
  });

  test("the started event carries the task as stored, on a first attempt and on a retry", async () => {
    const started: Task[] = [];
    const { queue, clock } = await setup({ retryBackoffMs: [1000] }, (_event, payload) => {
      if (payload.change === "started" && payload.task) started.push(payload.task);
    });
    const task = await queue.create({ workspaceId: "ws", spec: "x", options: {} });
    await queue.claim();
    expect(started[0]).toEqual((await queue.get(task.id)) as Task);
    await queue.fail(task.id, 1, { status: "failed", message: "503", retryable: true });
    clock.now += 1000;
    await queue.claim();
    expect(started[1]).toEqual((await queue.get(task.id)) as Task);
    expect(started[1]?.attempts.map((a) => a.n)).toEqual([1, 2]);
  });

  test("cancel, retry and delete follow the task's state", async () => {
    const { queue } = await setup({ maxAttempts: 1 });
    const task = await queue.create({ workspaceId: "ws", spec: "x", options: {} });
    expect(codeOf(await queue.delete(task.id).catch((e) => e))).toBe("conflict");
    expect(codeOf(await queue.retry(task.id).catch((e) => e))).toBe("invalid_transition");
    await queue.claim();
    const { task: cancelled, wasRunning } = await queue.cancel(task.id);
    expect(wasRunning).toBe(1);
    expect(cancelled).toMatchObject({ status: "cancelled", attempts: [{ n: 1, status: "cancelled" }] });
    expect(codeOf(await queue.cancel(task.id).catch((e) => e))).toBe("invalid_transition");
    const retried = await queue.retry(task.id);
    expect(retried).toMatchObject({ status: "queued", maxAttempts: 2 });
    await queue.claim();
    await queue.complete(task.id, 2, { done: true });
    await queue.delete(task.id);
    expect(await queue.get(task.id)).toBeUndefined();
  });

  test("retryable failures back off by the schedule, then the task fails with the last reason", async () => {
    const { queue, clock } = await setup({ retryBackoffMs: [1000, 5000], maxAttempts: 3 });
    const task = await queue.create({ workspaceId: "ws", spec: "x", options: {} });
    const waits: number[] = [];
    for (let n = 1; n <= 3; n++) {
      const claimed = await queue.claim();
      expect("n" in claimed && claimed.n).toBe(n);
      await queue.fail(task.id, n, { status: "failed", message: `boom ${n}`, retryable: true });
      const after = await queue.get(task.id);
      if (after?.nextRunAt && after.status === "queued") {
        waits.push(Date.parse(after.nextRunAt) - clock());
        clock.now = Date.parse(after.nextRunAt);
      }
    }
    expect(waits).toEqual([1000, 5000]);
    expect(await queue.get(task.id)).toMatchObject({ status: "failed", lastError: "boom 3", attempt: 3 });
  });

  test("a list is paged newest first with an opaque cursor that stays stable under inserts", async () => {
    const { queue } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await queue.create({ workspaceId: "ws", spec: `${i}`, options: {} })).id);
    const first = await queue.list({ limit: 2 });
    expect(first.tasks.map((t) => t.id)).toEqual(ids.slice(3).reverse());
    await queue.create({ workspaceId: "ws", spec: "late", options: {} });
    const second = await queue.list({ limit: 2, cursor: first.nextCursor as string });
    expect(second.tasks.map((t) => t.id)).toEqual(ids.slice(1, 3).reverse());
    const third = await queue.list({ limit: 2, cursor: second.nextCursor as string });
    expect(third.tasks.map((t) => t.id)).toEqual(ids.slice(0, 1));
    expect(third.nextCursor).toBeNull();
    expect(codeOf(await queue.list({ cursor: "bogus" }).catch((e) => e))).toBe("invalid_request");
  });
});
