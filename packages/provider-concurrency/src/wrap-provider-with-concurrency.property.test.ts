import { expect, test } from "bun:test";
import fc from "fast-check";
import { StreamHarness } from "../test/stream-harness.ts";

const providers = ["a", "b"] as const;
const workspaces = ["w0", "w1", "w2"] as const;

const command = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("start" as const),
      provider: fc.constantFrom(...providers),
      workspace: fc.constantFrom(...workspaces),
      age: fc.integer({ min: 0, max: 2_000 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom(
        "emit" as const,
        "end" as const,
        "fail" as const,
        "break" as const,
        "abort" as const,
      ),
      pick: fc.nat(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom("star" as const, "unstar" as const),
      workspace: fc.constantFrom(...workspaces),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("limit" as const),
      provider: fc.constantFrom(...providers),
      n: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 1_500 }) }),
  },
);

test("wrapped streams under random schedules: limit, grant order, every exit path releases (property)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(command, { minLength: 10, maxLength: 120, size: "max" }),
      fc.boolean(),
      async (commands, honoursSignal) => {
        const h = new StreamHarness({ providers, agingMs: 1_000, maxQueue: 5, honoursSignal });
        for (const c of commands) {
          switch (c.kind) {
            case "start":
              h.start(c.provider, c.workspace, c.age);
              break;
            case "emit":
              h.emit(c.pick);
              break;
            case "end":
              h.end(c.pick);
              break;
            case "fail":
              h.fail(c.pick);
              break;
            case "break":
              h.breakEarly(c.pick);
              break;
            case "abort":
              h.abort(c.pick);
              break;
            case "star":
            case "unstar":
              h.setStarred(c.workspace, c.kind === "star");
              break;
            case "limit":
              h.setLimit(c.provider, c.n);
              break;
            case "advance":
              h.advance(c.ms);
              break;
          }
          await h.settle();
          expect(h.problems).toEqual([]);
        }
        await h.finish();
        expect(h.problems).toEqual([]);
        expect(h.active).toBe(0);
        expect(h.manager.leaseCount).toBe(0);
        expect(h.manager.stats().every((s) => s.inFlight === 0)).toBe(true);
        expect(h.counts.reclaimed).toBe(0);
        h.manager.dispose();
      },
    ),
    { numRuns: 150 },
  );
});
