import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GroupCommit,
  type OpenedConversationStore,
  openConversationStore,
  type Transact,
} from "@dispatch/conversation-store";
import type { ConversationEvent } from "@dispatch/wire";
import { MemoryEventLog } from "../test/fixtures/memory-event-log.ts";
import { EventWriter, type Grouped } from "./event-writer.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A group commit over `transact`, as the store's `grouped`. */
function groupedBy(transact: Transact): Grouped {
  const group = new GroupCommit(transact);
  return (fn, options) => group.join(fn, options);
}

/** A real SQLite store in a temp dir, and a group commit over it that counts its transactions. */
function sqliteStore(): { store: OpenedConversationStore; grouped: Grouped; transactions: () => number } {
  const dir = mkdtempSync(join(tmpdir(), "orch-writer-"));
  const store = openConversationStore({ path: join(dir, "store.db") });
  cleanups.push(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  let count = 0;
  return {
    store,
    grouped: groupedBy((fn) => {
      count += 1;
      return store.transaction(() => fn());
    }),
    transactions: () => count,
  };
}

const ev = (n: number) => ({ type: "test", turnId: null, data: { n } });

describe("EventWriter", () => {
  test("publishes each conversation's events in seq order even when writes race and stall", async () => {
    const log = new MemoryEventLog();
    log.delay = () => Bun.sleep(Math.random() * 3);
    const published: Array<[string, ConversationEvent]> = [];
    const writer = new EventWriter(log, (c, e) => published.push([c, e]));
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i += 1) {
      writes.push(writer.write(i % 2 === 0 ? "a" : "b", i % 3 === 0 ? [ev(i), ev(i)] : [ev(i)]));
    }
    await Promise.all(writes);
    for (const conversation of ["a", "b"]) {
      const seqs = published.filter(([c]) => c === conversation).map(([, e]) => e.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      expect(seqs.length).toBe(log.events.get(conversation)?.length ?? -1);
    }
    expect(writer.pendingConversations).toBe(0);
  });

  test("a failed write rejects only itself; the chain carries on", async () => {
    const log = new MemoryEventLog();
    const published: number[] = [];
    const writer = new EventWriter(log, (_c, e) => published.push(e.seq));
    log.failNext = new Error("disk full");
    const first = writer.write("a", [ev(1)]);
    const second = writer.write("a", [ev(2)]);
    await expect(first).rejects.toThrow("disk full");
    expect((await second).map((e) => e.seq)).toEqual([1]);
    expect(published).toEqual([1]);
  });

  test("afterPersist runs before publishing; if it throws, the stored events are still published", async () => {
    const log = new MemoryEventLog();
    const order: string[] = [];
    const writer = new EventWriter(log, (_c, e) => order.push(`publish ${e.seq}`));
    await writer.write("a", [ev(1)], { afterPersist: () => void order.push("hook") });
    const failing = writer.write("a", [ev(2)], {
      afterPersist: () => {
        throw new Error("status refused");
      },
    });
    await expect(failing).rejects.toThrow("status refused");
    expect(order).toEqual(["hook", "publish 1", "publish 2"]);
  });

  test("writes asked for in one loop turn are stored in one transaction and published in order", async () => {
    const { store, grouped, transactions } = sqliteStore();
    const ids = await Promise.all(
      [1, 2, 3].map(
        async () =>
          (await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" })).id,
      ),
    );
    const published: string[] = [];
    const writer = new EventWriter(
      store.events,
      (c, e) => published.push(`${ids.indexOf(c)}:${e.seq}`),
      grouped,
    );
    const writes = ids.flatMap((id) => [writer.write(id, [ev(1), ev(2)]), writer.write(id, [ev(3)])]);
    expect(published).toEqual([]);
    const stored = await Promise.all(writes);
    expect(transactions()).toBe(1);
    expect(stored.map((events) => events.map((e) => e.seq))).toEqual([[1, 2], [3], [1, 2], [3], [1, 2], [3]]);
    expect(published).toEqual(["0:1", "0:2", "0:3", "1:1", "1:2", "1:3", "2:1", "2:2", "2:3"]);
    for (const id of ids) expect((await store.events.listAfter(id, 0)).length).toBe(3);
    expect(writer.pendingConversations).toBe(0);
  });

  test("in a group a write to a missing conversation fails alone; a write asked for during a commit waits for the next", async () => {
    const { store, grouped, transactions } = sqliteStore();
    const id = (await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" })).id;
    const published: string[] = [];
    const writer = new EventWriter(store.events, (_c, e) => published.push(`${e.seq}`), grouped);
    let later: Promise<unknown> = Promise.resolve();
    const first = writer.write(id, [ev(1)], {
      afterPersist: () => {
        // asked for while the first group commits: it goes in the next one, after it
        later = writer.write(id, [ev(2)]);
      },
    });
    const missing = writer.write("c_missing", [ev(1)]);
    await expect(missing).rejects.toMatchObject({ code: "not_found" });
    await first;
    await later;
    expect(published).toEqual(["1", "2"]);
    expect(transactions()).toBe(1);
    expect((await store.events.listAfter(id, 0)).map((e) => e.seq)).toEqual([1, 2]);
  });

  test("in a group of plain event writes, a missing conversation and an oversized event fail alone", async () => {
    const { store, grouped, transactions } = sqliteStore();
    const id = (await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" })).id;
    await store.events.append(id, ev(0));
    const published: string[] = [];
    const writer = new EventWriter(
      store.events,
      (c, e) => published.push(`${c === id ? "c" : c}:${e.seq}`),
      grouped,
    );
    const huge = { type: "test", turnId: null, data: { text: "x".repeat(2 * 1024 * 1024) } };
    const [before, missing, oversized, after] = await Promise.allSettled([
      writer.write(id, [ev(1), ev(2)]),
      writer.write("c_missing", [ev(1)]),
      writer.write(id, [huge]),
      writer.write(id, [ev(3)]),
    ]);
    expect(transactions()).toBe(1);
    expect(before).toMatchObject({ status: "fulfilled" });
    expect(missing).toMatchObject({ status: "rejected", reason: { code: "not_found" } });
    expect(oversized).toMatchObject({ status: "rejected", reason: { code: "invalid_request" } });
    expect(after).toMatchObject({ status: "fulfilled" });
    expect(published).toEqual(["c:2", "c:3", "c:4"]);
    // the log's remembered seq and the table agree after the failures
    expect((await store.events.append(id, ev(4))).seq).toBe(5);
    expect((await store.events.listAfter(id, 0)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  test("a group whose transaction fails publishes nothing and rejects every write in it", async () => {
    const log = new MemoryEventLog();
    const published: number[] = [];
    const failing = groupedBy(async (fn) => {
      await fn();
      throw new Error("COMMIT failed: disk full");
    });
    const writer = new EventWriter(log, (_c, e) => published.push(e.seq), failing);
    const outcomes = await Promise.allSettled([writer.write("a", [ev(1)]), writer.write("b", [ev(1)])]);
    expect(outcomes.map((o) => o.status === "rejected" && String(o.reason))).toEqual([
      "Error: COMMIT failed: disk full",
      "Error: COMMIT failed: disk full",
    ]);
    expect(published).toEqual([]);
    expect(writer.pendingConversations).toBe(0);
  });

  test("a write with afterPersist stores its events and runs the hook in one transaction, then beforePublish, then publishes", async () => {
    const { store, grouped, transactions } = sqliteStore();
    const id = (await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" })).id;
    const { turn } = await store.turns.claim({ conversationId: id, text: "hi", promptStartedAt: Date.now() });
    const order: string[] = [];
    const writer = new EventWriter(store.events, (_c, e) => order.push(`publish ${e.seq}`), grouped);
    await writer.write(id, [ev(1)], {
      afterPersist: async () => {
        await store.turns.setStatus(turn.id, "running");
        order.push("status");
      },
      beforePublish: () => order.push("before publish"),
    });
    expect(transactions()).toBe(1);
    expect(order).toEqual(["status", "before publish", "publish 1"]);
    expect((await store.turns.get(turn.id))?.status).toBe("running");
  });
});
