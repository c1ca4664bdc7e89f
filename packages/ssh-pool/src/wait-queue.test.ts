import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { WaitQueue } from "./wait-queue.ts";

describe("WaitQueue", () => {
  test("rejects a bad limit with the usual message", () => {
    expect(() => new WaitQueue(0)).toThrow("Expected `limit` to be an integer >= 1, got `0`");
  });

  test("serves in ticket order: newcomers bounded, put-back waiters regain their place", () => {
    type Op = { kind: "push" | "shift" | "putBack" | "remove"; pick: number };
    const op = fc.record({
      kind: fc.constantFrom<Op["kind"]>("push", "shift", "putBack", "remove"),
      pick: fc.nat(),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 80 }), (limit, ops) => {
        const queue = new WaitQueue<{ ticket: number }>(limit);
        let model: Array<{ ticket: number }> = [];
        const taken: Array<{ ticket: number }> = [];
        let next = 0;
        for (const step of ops) {
          if (step.kind === "push") {
            const item = { ticket: next++ };
            const ok = queue.push(item);
            expect(ok).toBe(model.length < limit);
            if (ok) model.push(item);
          } else if (step.kind === "shift") {
            const item = queue.shift();
            expect(item).toBe(model.shift() as { ticket: number });
            if (item) taken.push(item);
          } else if (step.kind === "putBack") {
            const item = taken.splice(step.pick % Math.max(taken.length, 1), 1)[0];
            if (!item) continue;
            queue.insert(item);
            model = [...model, item].sort((a, b) => a.ticket - b.ticket);
          } else {
            const target = model[step.pick % Math.max(model.length, 1)];
            if (target) {
              expect(queue.remove(target)).toBe(true);
              model.splice(model.indexOf(target), 1);
            } else expect(queue.remove({ ticket: -1 })).toBe(false);
          }
          expect(queue.size).toBe(model.length);
          expect(queue.peek()).toBe(model[0] as { ticket: number });
        }
        expect(queue.drain()).toEqual(model);
        expect(queue.size).toBe(0);
      }),
    );
  });
});
