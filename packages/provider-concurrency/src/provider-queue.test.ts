import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ProviderQueue, type QueuedWaiter } from "./provider-queue.ts";

interface W extends QueuedWaiter {
  id: number;
}

let seq = 0;
function waiter(promptStartedAt: number, starred: boolean): W {
  seq++;
  return { id: seq, seq, promptStartedAt, starred, live: true, heapIndex: -1 };
}

function drainIds(queue: ProviderQueue<W>, agedBefore: number): number[] {
  const ids: number[] = [];
  for (let w = queue.shift(agedBefore); w !== undefined; w = queue.shift(agedBefore)) ids.push(w.id);
  return ids;
}

describe("ProviderQueue", () => {
  test("serves starred first, then oldest prompt, then arrival", () => {
    const q = new ProviderQueue<W>();
    const a = waiter(30, false);
    const b = waiter(10, false);
    const c = waiter(40, true);
    const d = waiter(20, true);
    const e = waiter(20, true);
    for (const w of [a, b, c, d, e]) q.push(w);
    expect(drainIds(q, Number.NEGATIVE_INFINITY)).toEqual([d.id, e.id, c.id, b.id, a.id]);
  });

  test("an unstarred waiter older than the aging cutoff competes with starred ones by age", () => {
    const q = new ProviderQueue<W>();
    const oldUnstarred = waiter(5, false);
    const starred = waiter(10, true);
    const youngUnstarred = waiter(50, false);
    for (const w of [starred, youngUnstarred, oldUnstarred]) q.push(w);
    // Cutoff 6: only the waiter from t=5 is aged, and it is older than the starred one.
    expect(q.peek(6)).toBe(oldUnstarred);
    // Cutoff 5: the waiter from t=5 is exactly agingMs old, not older, so nobody is aged yet.
    expect(q.peek(5)).toBe(starred);
    expect(q.ordered(6).map((w) => w.id)).toEqual([oldUnstarred.id, starred.id, youngUnstarred.id]);
  });

  test("move() switches class without disturbing the rest", () => {
    const q = new ProviderQueue<W>();
    const [a, b, c] = [waiter(1, false), waiter(2, false), waiter(3, false)];
    for (const w of [a, b, c]) q.push(w);
    q.move(c, true);
    expect(q.liveCount(true)).toBe(1);
    expect(drainIds(q, Number.NEGATIVE_INFINITY)).toEqual([c.id, a.id, b.id]);
  });

  test("killed waiters are skipped and memory stays bounded by the live count", () => {
    const q = new ProviderQueue<W>();
    const kept = waiter(1_000_000, false);
    q.push(kept);
    for (let i = 0; i < 10_000; i++) {
      const w = waiter(i, i % 2 === 0);
      q.push(w);
      q.kill(w);
      expect(q.heldEntries).toBeLessThanOrEqual(2 * q.size + 65);
    }
    expect(q.size).toBe(1);
    expect(q.peek(Number.NEGATIVE_INFINITY)).toBe(kept);
  });

  test("matches a brute-force model under random push / kill / move / shift (property)", () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("push" as const),
        t: fc.integer({ min: 0, max: 30 }),
        starred: fc.boolean(),
      }),
      fc.record({ kind: fc.constant("kill" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("move" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("shift" as const), cutoff: fc.integer({ min: -1, max: 31 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 150 }), (ops) => {
        const q = new ProviderQueue<W>();
        const live: W[] = [];
        const best = (cutoff: number) => {
          const first = (w: W) => w.starred || w.promptStartedAt < cutoff;
          return [...live].sort((a, b) =>
            first(a) !== first(b)
              ? first(a)
                ? -1
                : 1
              : a.promptStartedAt - b.promptStartedAt || a.seq - b.seq,
          )[0];
        };
        for (const o of ops) {
          if (o.kind === "push") {
            const w = waiter(o.t, o.starred);
            q.push(w);
            live.push(w);
          } else if (o.kind === "shift") {
            const expected = best(o.cutoff);
            expect(q.shift(o.cutoff)).toBe(expected);
            if (expected) live.splice(live.indexOf(expected), 1);
          } else if (live.length > 0) {
            const w = live[o.pick % live.length] as W;
            if (o.kind === "kill") {
              q.kill(w);
              live.splice(live.indexOf(w), 1);
            } else q.move(w, !w.starred);
          }
          expect(q.size).toBe(live.length);
          expect(q.liveCount(true)).toBe(live.filter((w) => w.starred).length);
        }
      }),
      { numRuns: 300 },
    );
  });
});
