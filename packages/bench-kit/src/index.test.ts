import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { median, percentile } from "./index.ts";

describe("bench statistics", () => {
  test("median of odd and even counts, unsorted input left alone, NaN for none", () => {
    const input = [5, 1, 3];
    expect(median(input)).toBe(3);
    expect(input).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  test("nearest-rank percentiles", () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([7], 1)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  test("a percentile is a member with at least p% of values at or below it, and no smaller member is", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 1, max: 100 }),
        (values, p) => {
          const q = percentile(values, p);
          expect(values).toContain(q);
          const atOrBelow = (x: number) => values.filter((v) => v <= x).length;
          expect(atOrBelow(q) * 100).toBeGreaterThanOrEqual(p * values.length);
          for (const v of values) if (v < q) expect(atOrBelow(v) * 100).toBeLessThan(p * values.length);
        },
      ),
    );
  });
});
