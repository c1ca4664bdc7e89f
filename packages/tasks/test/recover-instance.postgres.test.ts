import { afterEach, describe, expect, test } from "bun:test";
import { conversationStoreRef } from "@dispatch/conversation-store";
import { reusableTestDatabase, type TestDatabase } from "@dispatch/conversation-store/testing";
import type { TestHost } from "@dispatch/kernel/testing";
import { manualClock, queueHost } from "./fixtures.ts";

// DESIGN §17: a dead host's running attempts are interrupted and their tasks queued again, each
// once however many survivors try, and a live host's attempts are left alone.

const hosts: TestHost[] = [];
const databases: TestDatabase[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
  for (const database of databases.splice(0)) await database.drop();
});

describe("recovering a dead host's tasks", () => {
  test("its running tasks are queued again once, with an interrupted attempt; the others stay", async () => {
    const database = await reusableTestDatabase();
    databases.push(database);
    const clock = manualClock(Date.UTC(2026, 11, 1, 12, 0));
    const config = { maxRunning: 3 };
    const [dead, b, c] = await Promise.all(
      [0, 1, 2].map(() => queueHost(config, { clock, storeUrl: database.url })),
    );
    for (const host of [dead, b, c]) if (host) hosts.push(host.test);
    if (dead === undefined || b === undefined || c === undefined) throw new Error("hosts did not start");
    const ids = [];
    for (let i = 0; i < 3; i++)
      ids.push((await dead.queue.create({ workspaceId: "default", spec: `t${i}`, options: {} })).id);
    const mine = [await dead.queue.claim(), await dead.queue.claim()];
    const theirs = await b.queue.claim();
    expect([...mine, theirs].every((r) => "n" in r)).toBe(true);
    const deadId = dead.test.get(conversationStoreRef).instanceId;
    const [byB, byC] = await Promise.all([b.queue.recoverInstance(deadId), c.queue.recoverInstance(deadId)]);
    expect(byB + byC).toBe(2);
    for (const claimed of mine) {
      if (!("n" in claimed)) continue;
      const task = await b.queue.get(claimed.id);
      expect(task?.status).toBe("queued");
      expect(task?.attempts.map((a) => a.status)).toEqual(["interrupted"]);
    }
    if ("n" in theirs) expect((await b.queue.get(theirs.id))?.status).toBe("running");
    expect(await c.queue.recoverInstance(deadId)).toBe(0);
    expect(ids).toHaveLength(3);
  });
});
