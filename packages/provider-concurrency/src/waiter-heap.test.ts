import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { type HeapEntry, servedBefore, WaiterHeap } from "./waiter-heap.ts";

interface Entry extends HeapEntry {
  id: number;
}

function entry(id: number, promptStartedAt: number): Entry {
  return { id, promptStartedAt, seq: id, heapIndex: -1 };
}

/** Checks the heap property and the position index for every slot. */
function checkInvariant(heap: WaiterHeap<Entry>): void {
  const items = heap.entries();
  items.forEach((e, i) => {
    expect(e.heapIndex).toBe(i);
    if (i > 0) expect(servedBefore(items[(i - 1) >> 1] as Entry, e)).toBe(true);
  });
}

describe("WaiterHeap", () => {
  test("pops by promptStartedAt, then by seq for equal times", () => {
    const heap = new WaiterHeap<Entry>();
    for (const [id, t] of [
      [1, 50],
      [2, 10],
      [3, 50],
      [4, 10],
      [5, 0],
    ] as const)
      heap.push(entry(id, t));
    const order: number[] = [];
    for (let e = heap.pop(); e !== undefined; e = heap.pop()) order.push(e.id);
    expect(order).toEqual([5, 2, 4, 1, 3]);
    expect(heap.size).toBe(0);
  });

  test("remove() of an entry in another heap, or already removed, is refused", () => {
    const a = new WaiterHeap<Entry>();
    const b = new WaiterHeap<Entry>();
    const x = entry(1, 1);
    const y = entry(2, 2);
    a.push(x);
    b.push(y);
    expect(a.remove(y)).toBe(false);
    expect(a.remove(x)).toBe(true);
    expect(a.remove(x)).toBe(false);
    expect(x.heapIndex).toBe(-1);
    expect(b.size).toBe(1);
  });

  test("agrees with a sorted list under random push / pop / remove / retain (property)", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("push" as const), t: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ kind: fc.constant("pop" as const) }),
      fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("retain" as const), mod: fc.integer({ min: 2, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const heap = new WaiterHeap<Entry>();
        let model: Entry[] = [];
        let nextId = 1;
        const sortModel = () => model.sort((a, b) => (servedBefore(a, b) ? -1 : 1));
        for (const o of ops) {
          if (o.kind === "push") {
            const e = entry(nextId++, o.t);
            heap.push(e);
            model.push(e);
          } else if (o.kind === "pop") {
            sortModel();
            expect(heap.pop()).toBe(model.shift());
          } else if (o.kind === "remove") {
            if (model.length === 0) continue;
            const victim = model[o.pick % model.length] as Entry;
            expect(heap.remove(victim)).toBe(true);
            model = model.filter((e) => e !== victim);
          } else {
            heap.retain((e) => e.id % o.mod !== 0);
            model = model.filter((e) => e.id % o.mod !== 0);
          }
          checkInvariant(heap);
          expect(heap.size).toBe(model.length);
          sortModel();
          expect(heap.peek()).toBe(model[0]);
        }
      }),
      { numRuns: 300 },
    );
  });
});
