import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { WaitQueue } from "./wait-queue.ts";

describe("WaitQueue", () => {
  test("rejects a bad limit with the usual message", () => {
    expect(() => new WaitQueue(0)).toThrow("Expected `limit` to be an integer >= 1, got `0`");
  });

  test("behaves like a bounded array model (FIFO, unshift past the bound, removal)", () => {
    type Op = { kind: "push" | "unshift" | "shift" | "remove"; value: number };
    const op = fc.record({
      kind: fc.constantFrom<Op["kind"]>("push", "unshift", "shift", "remove"),
      value: fc.integer({ min: 0, max: 20 }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 80 }), (limit, ops) => {
        const queue = new WaitQueue<{ v: number }>(limit);
        const model: Array<{ v: number }> = [];
        for (const step of ops) {
          if (step.kind === "push") {
            const item = { v: step.value };
            const ok = queue.push(item);
            expect(ok).toBe(model.length < limit);
            if (ok) model.push(item);
          } else if (step.kind === "unshift") {
            const item = { v: step.value };
            queue.unshift(item);
            model.unshift(item);
          } else if (step.kind === "shift") {
            expect(queue.shift()).toBe(model.shift() as { v: number });
          } else {
            const target = model[step.value % Math.max(model.length, 1)];
            if (target) {
              expect(queue.remove(target)).toBe(true);
              model.splice(model.indexOf(target), 1);
            } else expect(queue.remove({ v: -1 })).toBe(false);
          }
          expect(queue.size).toBe(model.length);
          expect(queue.peek()).toBe(model[0] as { v: number });
        }
        expect(queue.drain()).toEqual(model);
        expect(queue.size).toBe(0);
      }),
    );
  });
});
