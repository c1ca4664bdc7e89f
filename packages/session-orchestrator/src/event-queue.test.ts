import { expect, test } from "bun:test";
import fc from "fast-check";
import { EventQueue } from "./event-queue.ts";

test("behaves as a FIFO under any mix of push, shift and clear", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer(), fc.constant("shift" as const), fc.constant("clear" as const))),
      (ops) => {
        const queue = new EventQueue<number>();
        const model: number[] = [];
        for (const op of ops) {
          if (op === "shift") expect(queue.shift()).toBe(model.shift());
          else if (op === "clear") {
            queue.clear();
            model.length = 0;
          } else {
            queue.push(op);
            model.push(op);
          }
          expect(queue.length).toBe(model.length);
        }
      },
    ),
  );
});

test("a shifted item is no longer held by the queue", () => {
  const queue = new EventQueue<object>();
  const refs: WeakRef<object>[] = [];
  // Fewer than the compaction threshold, with one item left queued so the array itself survives.
  (() => {
    for (let i = 0; i < 100; i++) {
      const item = { payload: new Array(100).fill(i) };
      refs.push(new WeakRef(item));
      queue.push(item);
    }
  })();
  for (let i = 0; i < 99; i++) queue.shift();
  Bun.gc(true);
  Bun.gc(true);
  const alive = refs.slice(0, 99).filter((ref) => ref.deref() !== undefined).length;
  // JavaScriptCore scans the stack conservatively, so a stray word can keep one or two alive; a queue
  // that held what it shifted would keep all 99
  expect(alive).toBeLessThan(5);
  expect(refs[99]?.deref()).toBeDefined();
  expect(queue.length).toBe(1);
});
