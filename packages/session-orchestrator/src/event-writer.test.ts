import { describe, expect, test } from "bun:test";
import type { ConversationEvent } from "@dispatch/wire";
import { MemoryEventLog } from "../test/fixtures/memory-event-log.ts";
import { EventWriter } from "./event-writer.ts";

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
});
