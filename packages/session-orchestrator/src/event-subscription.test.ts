import { describe, expect, test } from "bun:test";
import type { ConversationEvent } from "@dispatch/wire";
import { MemoryEventLog } from "../test/fixtures/memory-event-log.ts";
import { ConversationSubscription } from "./event-subscription.ts";
import { EventWriter } from "./event-writer.ts";
import { SubscriptionHub } from "./subscription-hub.ts";

function setup() {
  const log = new MemoryEventLog();
  const hub = new SubscriptionHub();
  const writer = new EventWriter(log, (c, e) => hub.deliver(c, e));
  const subscribe = (afterSeq: number, maxBuffered = 100, pageSize?: number) =>
    new ConversationSubscription({
      hub,
      conversationId: "c",
      afterSeq,
      maxBuffered,
      replay: (after, limit) => log.listAfter("c", after, limit),
      ...(pageSize === undefined ? {} : { pageSize }),
    });
  const write = (n = 1) =>
    writer.write(
      "c",
      Array.from({ length: n }, () => ({ type: "t", turnId: null, data: {} })),
    );
  return { log, hub, writer, subscribe, write };
}

async function take(iterator: AsyncIterator<ConversationEvent>, n: number): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const next = await iterator.next();
    if (next.done) break;
    seqs.push(next.value.seq);
  }
  return seqs;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("ConversationSubscription", () => {
  test("replays after afterSeq in pages, then delivers live events, each seq once", async () => {
    const { log, subscribe, write, hub } = setup();
    log.seed("c", 25);
    const sub = subscribe(10, 100, 4);
    const iterator = sub[Symbol.asyncIterator]();
    expect(await take(iterator, 5)).toEqual(range(11, 15));
    await write(3); // arrives while the subscription is still replaying
    expect(await take(iterator, 13)).toEqual(range(16, 28));
    const later = take(iterator, 2);
    await write(2);
    expect(await later).toEqual([29, 30]);
    sub.close();
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    expect(hub.listenerCount).toBe(0);
    expect(sub.closedReason).toBeUndefined();
  });

  test("finish() ends the subscription cleanly after everything published so far, replay included", async () => {
    const { log, subscribe, write, hub } = setup();
    log.seed("c", 9);
    const sub = subscribe(0, 100, 4);
    const iterator = sub[Symbol.asyncIterator]();
    expect(await take(iterator, 2)).toEqual([1, 2]);
    await write(1);
    sub.finish("shutdown");
    const rest: number[] = [];
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      rest.push(next.value.seq);
    }
    expect(rest).toEqual(range(3, 10));
    expect(sub.closedReason).toBe("shutdown");
    expect(await sub.ended).toBe("shutdown");
    expect(hub.listenerCount).toBe(0);
  });

  test("finish() wakes a consumer waiting for live events; ended resolves however it ends", async () => {
    const { subscribe, write } = setup();
    const live = subscribe(0);
    const waiting = live[Symbol.asyncIterator]().next();
    live.finish("shutdown");
    expect(await waiting).toEqual({ value: undefined, done: true });
    const slow = subscribe(0, 2);
    const first = slow[Symbol.asyncIterator]().next();
    await write(1);
    await first; // replay is over: the subscription is live
    await write(3);
    expect(await slow.ended).toBe("slow_consumer");
    const closed = subscribe(0);
    closed.close();
    expect(await closed.ended).toBeUndefined();
  });

  test("an event persisted before the read but published after it is not delivered twice", async () => {
    const { log, subscribe, hub } = setup();
    log.seed("c", 3);
    const sub = subscribe(0);
    const iterator = sub[Symbol.asyncIterator]();
    // Simulate the writer's window: stored, read by the replay, then published.
    const stored = await log.append("c", { type: "t", turnId: null, data: {} });
    expect(await take(iterator, 4)).toEqual([1, 2, 3, 4]);
    hub.deliver("c", stored);
    const next = take(iterator, 1);
    const fifth = await log.append("c", { type: "t", turnId: null, data: {} });
    hub.deliver("c", fifth);
    expect(await next).toEqual([5]);
    sub.close();
  });

  test("a consumer that falls more than maxBuffered behind is dropped as slow_consumer", async () => {
    const { subscribe, write, hub } = setup();
    const sub = subscribe(0, 5);
    const iterator = sub[Symbol.asyncIterator]();
    expect(await take(iterator, 0)).toEqual([]);
    const first = iterator.next(); // switches to live
    await write(1);
    expect((await first).value?.seq).toBe(1);
    await write(6);
    expect(sub.closedReason).toBe("slow_consumer");
    expect(hub.listenerCount).toBe(0);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  test("overflowing the hold during a slow replay loses nothing: the store still has those events", async () => {
    const { log, subscribe, write } = setup();
    log.seed("c", 10);
    const sub = subscribe(0, 3, 3);
    const iterator = sub[Symbol.asyncIterator]();
    expect(await take(iterator, 1)).toEqual([1]);
    await write(8); // far more than maxBuffered arrive while replaying
    expect(await take(iterator, 17)).toEqual(range(2, 18));
    expect(sub.closedReason).toBeUndefined();
    sub.close();
  });

  test("a live event that skips a seq sends the subscription back to the store instead of skipping", async () => {
    const { log, subscribe, hub } = setup();
    const sub = subscribe(0);
    const iterator = sub[Symbol.asyncIterator]();
    const first = iterator.next();
    const e1 = await log.append("c", { type: "t", turnId: null, data: {} });
    hub.deliver("c", e1);
    expect((await first).value?.seq).toBe(1);
    await log.append("c", { type: "t", turnId: null, data: {} }); // stored, never delivered
    const e3 = await log.append("c", { type: "t", turnId: null, data: {} });
    hub.deliver("c", e3);
    expect(await take(iterator, 2)).toEqual([2, 3]);
    sub.close();
  });

  test("a failing replay ends the subscription with the error", async () => {
    const hub = new SubscriptionHub();
    const sub = new ConversationSubscription({
      hub,
      conversationId: "c",
      afterSeq: 0,
      maxBuffered: 10,
      replay: async () => {
        throw new Error("database is locked");
      },
    });
    const iterator = sub[Symbol.asyncIterator]();
    await expect(iterator.next()).rejects.toThrow("database is locked");
    expect(sub.closedReason).toBe("replay_failed");
    expect(hub.listenerCount).toBe(0);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  test("close() wakes a waiting consumer and leaves no listener behind; for-await break closes too", async () => {
    const { subscribe, hub, write } = setup();
    const sub = subscribe(0);
    const iterator = sub[Symbol.asyncIterator]();
    const pending = iterator.next();
    await Bun.sleep(1);
    sub.close();
    expect(await pending).toEqual({ value: undefined, done: true });
    const other = subscribe(0);
    await write(2);
    for await (const event of other) {
      expect(event.seq).toBe(1);
      break;
    }
    expect(hub.listenerCount).toBe(0);
  });

  test("rejects a bad afterSeq or maxBuffered with a clear message", () => {
    const { subscribe } = setup();
    expect(() => subscribe(-1)).toThrow("Expected `afterSeq` to be an integer >= 0, got `-1`");
    expect(() => subscribe(0, 0)).toThrow("Expected `maxBuffered` to be an integer >= 1, got `0`");
  });
});

describe("ConversationSubscription and other hosts' events (the store's feed)", () => {
  test("an announcement while live reads the announced events from the store, in order, once", async () => {
    const { log, subscribe, hub } = setup();
    log.seed("c", 2);
    const sub = subscribe(0);
    const iterator = sub[Symbol.asyncIterator]();
    expect(await take(iterator, 2)).toEqual([1, 2]);
    // another host stored 3..5 (this host's writer never saw them) and announced the last
    log.seed("c", 3);
    const next = take(iterator, 3);
    hub.advance("c", 5);
    hub.advance("c", 4); // late and stale: ignored
    expect(await next).toEqual([3, 4, 5]);
    sub.close();
  });

  test("an announcement that arrives while a replay page is read sends the replay round again", async () => {
    const { log, subscribe, hub } = setup();
    log.seed("c", 1);
    let reads = 0;
    let release: () => void = () => {};
    log.delay = async () => {
      reads += 1;
      if (reads !== 1) return;
      // the first read has taken its snapshot; another host commits 2..3 and announces before it returns
      const snapshot = new Promise<void>((resolve) => {
        release = resolve;
      });
      await snapshot;
    };
    const original = log.listAfter.bind(log);
    log.listAfter = async (conversationId, after, limit) => {
      const page = (log.events.get(conversationId) ?? []).filter((e) => e.seq > after).slice(0, limit);
      await log.delay();
      return page;
    };
    const sub = subscribe(0);
    const iterator = sub[Symbol.asyncIterator]();
    const first = take(iterator, 3);
    await Bun.sleep(1);
    log.seed("c", 2);
    hub.advance("c", 3);
    release();
    expect(await first).toEqual([1, 2, 3]);
    expect(reads).toBeGreaterThanOrEqual(2);
    log.listAfter = original;
    sub.close();
  });

  test("an announcement the store cannot back (made before the read) does not spin the replay", async () => {
    const { log, subscribe, hub, write } = setup();
    log.seed("c", 1);
    let reads = 0;
    const original = log.listAfter.bind(log);
    log.listAfter = async (conversationId, after, limit) => {
      reads += 1;
      return original(conversationId, after, limit);
    };
    const sub = subscribe(0);
    const iterator = sub[Symbol.asyncIterator]();
    expect(await take(iterator, 1)).toEqual([1]);
    hub.advance("c", 9);
    // the replay reads once, finds nothing new, and goes live again
    const next = take(iterator, 1);
    await write(1);
    expect(await next).toEqual([2]);
    expect(reads).toBeLessThanOrEqual(3);
    sub.close();
  });

  test("advanceAll (the feed reconnected) makes every live subscription look at the store", async () => {
    const { log, subscribe, hub } = setup();
    const sub = subscribe(0);
    const iterator = sub[Symbol.asyncIterator]();
    const pending = take(iterator, 2);
    await Bun.sleep(1);
    log.seed("c", 2);
    hub.advanceAll();
    expect(await pending).toEqual([1, 2]);
    sub.close();
    expect(hub.listenerCount).toBe(0);
  });
});
