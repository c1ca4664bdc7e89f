import { describe, expect, test } from "bun:test";
import type { ConversationEvent } from "@dispatch/wire";
import fc from "fast-check";
import type { NewEvent } from "../../src/types.ts";
import { type HarnessOptions, rejectionOf, type StoreHarness } from "./harness.ts";

/** The eventLog contract that the SQLite and the Postgres store both keep. */
export function eventLogContract(h: StoreHarness): void {
  async function setup(options: HarnessOptions = {}) {
    const temp = await h.open(options);
    const conv = await temp.store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
    return { ...temp, conv };
  }

  const ev = (i: number, extra: Record<string, unknown> = {}): NewEvent => ({
    type: "text.delta",
    turnId: null,
    data: { i, ...extra },
  });

  async function readAll(
    log: { listAfter(c: string, after: number, limit?: number): Promise<ConversationEvent[]> },
    c: string,
  ) {
    const out: ConversationEvent[] = [];
    for (;;) {
      const page = await log.listAfter(c, out.at(-1)?.seq ?? 0, 7);
      if (page.length === 0) return out;
      out.push(...page);
    }
  }

  describe("events", () => {
    test("append numbers events from 1 per conversation and stores what it returns", async () => {
      const { store, conv } = await setup({ clock: () => 5_000 });
      const other = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
      const first = await store.events.append(conv.id, {
        type: "turn.started",
        turnId: null,
        data: { a: [1, "x"] },
      });
      expect(first).toEqual({
        seq: 1,
        type: "turn.started",
        turnId: null,
        at: new Date(5_000).toISOString(),
        data: { a: [1, "x"] },
      });
      expect((await store.events.append(other.id, ev(0))).seq).toBe(1);
      expect((await store.events.append(conv.id, ev(1))).seq).toBe(2);
      expect(await store.events.listAfter(conv.id, 0)).toEqual([
        first,
        { ...first, seq: 2, type: "text.delta", data: { i: 1 } },
      ]);
      expect(await store.events.lastSeq(conv.id)).toBe(2);
      expect(await store.events.lastSeq("c_none")).toBe(0);
    });

    test("appendMany is one transaction with consecutive seqs; an empty batch appends nothing", async () => {
      const { store, conv } = await setup();
      await store.events.append(conv.id, ev(0));
      const batch = await store.events.appendMany(conv.id, [ev(1), ev(2), ev(3)]);
      expect(batch.map((e) => e.seq)).toEqual([2, 3, 4]);
      expect(await store.events.appendMany(conv.id, [])).toEqual([]);
      expect(await store.events.lastSeq(conv.id)).toBe(4);
    });

    test("one invalid event in a batch appends none of it", async () => {
      const { store, conv } = await setup();
      const error = await rejectionOf(
        store.events.appendMany(conv.id, [ev(1), { type: "", turnId: null, data: {} }]),
      );
      expect(error).toMatchObject({ code: "invalid_request", details: { field: "type" } });
      expect(await store.events.lastSeq(conv.id)).toBe(0);
    });

    test("listAfter pages by seq with a default limit of 1000", async () => {
      const { store, conv } = await setup();
      await store.events.appendMany(
        conv.id,
        Array.from({ length: 1500 }, (_, i) => ev(i)),
      );
      const first = await store.events.listAfter(conv.id, 0);
      expect(first.length).toBe(1000);
      expect(first[999]?.seq).toBe(1000);
      const rest = await store.events.listAfter(conv.id, 1000);
      expect(rest.map((e) => e.seq)).toEqual(Array.from({ length: 500 }, (_, i) => 1001 + i));
      expect((await store.events.listAfter(conv.id, 1498, 10)).map((e) => e.seq)).toEqual([1499, 1500]);
      expect(await store.events.listAfter(conv.id, 1500)).toEqual([]);
    });

    test("listAfter checks its arguments", async () => {
      const { store, conv } = await setup();
      for (const [after, limit, field] of [
        [-1, 10, "afterSeq"],
        [1.5, 10, "afterSeq"],
        [0, 0, "limit"],
        [0, 10_001, "limit"],
      ] as const) {
        expect(await rejectionOf(store.events.listAfter(conv.id, after, limit))).toMatchObject({
          code: "invalid_request",
          details: { field },
        });
      }
    });

    test("the payload is at most 256 KiB of JSON, counted in UTF-8 bytes", async () => {
      const { store, conv } = await setup();
      const limit = 256 * 1024;
      const overhead = JSON.stringify({ s: "" }).length;
      const atLimit = await store.events.append(conv.id, {
        type: "x",
        turnId: null,
        data: { s: "a".repeat(limit - overhead) },
      });
      expect(atLimit.seq).toBe(1);
      const over = await rejectionOf(
        store.events.append(conv.id, {
          type: "x",
          turnId: null,
          data: { s: "a".repeat(limit - overhead + 1) },
        }),
      );
      expect(over).toMatchObject({ code: "invalid_request", details: { field: "data", limit } });
      const wide = await rejectionOf(
        store.events.append(conv.id, { type: "x", turnId: null, data: { s: "é".repeat(limit / 2) } }),
      );
      expect(wide.details?.field).toBe("data");
      expect(await store.events.lastSeq(conv.id)).toBe(1);
    });

    test("data must be a JSON object", async () => {
      const { store, conv } = await setup();
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      for (const data of [null, [1], "text", circular]) {
        const error = await rejectionOf(
          store.events.append(conv.id, { type: "x", turnId: null, data: data as Record<string, unknown> }),
        );
        expect(error).toMatchObject({ code: "invalid_request", details: { field: "data" } });
      }
    });

    test("an unknown conversation is not_found and counts nothing", async () => {
      const counts: number[] = [];
      const { store } = await setup({ onAppended: (n) => void counts.push(n) });
      expect((await rejectionOf(store.events.append("c_missing", ev(0)))).code).toBe("not_found");
      expect((await rejectionOf(store.events.appendMany("c_missing", [ev(0), ev(1)]))).code).toBe(
        "not_found",
      );
      expect(counts).toEqual([]);
    });

    test("onAppended hears the number of committed events", async () => {
      const counts: number[] = [];
      const { store, conv } = await setup({ onAppended: (n) => void counts.push(n) });
      await store.events.append(conv.id, ev(0));
      await store.events.appendMany(conv.id, [ev(1), ev(2), ev(3)]);
      await rejectionOf(store.events.append(conv.id, { type: "", turnId: null, data: {} }));
      expect(counts).toEqual([1, 3]);
    });
  });

  describe("events under concurrent appenders (property)", () => {
    // An op is a single append (size 1), a batch (size > 1), or an invalid append (size 0) that must not use a seq.
    const appenders = fc.array(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 8 }), {
      minLength: 2,
      maxLength: 10,
    });

    test("many appenders interleaved in any order produce exactly 1..N, no gap, no duplicate", async () => {
      const { store } = await h.open();
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), appenders, async (s, plan) => {
          const conv = await store.conversations.create({
            workspaceId: "default",
            provider: "p",
            model: "m",
          });
          const tasks = plan.map(async (ops, a) => {
            const mine: ConversationEvent[] = [];
            for (const [k, size] of ops.entries()) {
              await s.schedule(Promise.resolve(), `appender ${a} op ${k}`);
              if (size === 0) {
                await rejectionOf(
                  store.events.append(conv.id, {
                    type: "x",
                    turnId: null,
                    data: [] as unknown as Record<string, unknown>,
                  }),
                );
              } else if (size === 1) {
                mine.push(await store.events.append(conv.id, ev(0, { a, k, j: 0 })));
              } else {
                const batch = Array.from({ length: size }, (_, j) => ev(0, { a, k, j }));
                const got = await store.events.appendMany(conv.id, batch);
                // A batch's seqs are consecutive even when other appenders run around it.
                expect(got.map((e) => e.seq - (got[0]?.seq ?? 0))).toEqual(batch.map((_, j) => j));
                mine.push(...got);
              }
            }
            return mine;
          });
          const returned = (await s.waitFor(Promise.all(tasks))).flat();
          const stored = await readAll(store.events, conv.id);
          const expectedCount = plan.flat().reduce((sum, size) => sum + size, 0);
          expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: expectedCount }, (_, i) => i + 1));
          const key = (e: ConversationEvent) => `${e.seq}:${JSON.stringify(e.data)}`;
          expect(returned.map(key).sort()).toEqual(stored.map(key).sort());
          // Every (appender, op, index) was written exactly once.
          expect(new Set(stored.map((e) => JSON.stringify(e.data))).size).toBe(expectedCount);
        }),
        { numRuns: 60 },
      );
    });

    test("a burst of unscheduled concurrent appends (Promise.all) is gap-free too", async () => {
      const { store, conv } = await setup();
      const n = 2_000;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          i % 10 === 0
            ? store.events.appendMany(conv.id, [ev(i), ev(i)])
            : store.events.append(conv.id, ev(i)).then((e) => [e]),
        ),
      );
      const total = results.flat().length;
      expect(total).toBe(n + n / 10);
      expect((await readAll(store.events, conv.id)).map((e) => e.seq)).toEqual(
        Array.from({ length: total }, (_, i) => i + 1),
      );
    });
  });
}
