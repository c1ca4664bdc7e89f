import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { backoffDelay } from "./backoff.ts";

describe("backoffDelay", () => {
  test("doubles per attempt, with jitter in the upper half, capped at maxMs", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, maxMs, r) => {
          const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
          const delay = backoffDelay(attempt, { baseMs, maxMs, random: () => r });
          expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
          expect(delay).toBeLessThanOrEqual(Math.ceil(ceiling));
        },
      ),
    );
  });

  test("two clients with different random draws do not retry in step", () => {
    const a = backoffDelay(4, { baseMs: 100, maxMs: 10_000, random: () => 0.1 });
    const b = backoffDelay(4, { baseMs: 100, maxMs: 10_000, random: () => 0.9 });
    expect(a).not.toBe(b);
    expect(a).toBe(440);
    expect(b).toBe(760);
  });
});
