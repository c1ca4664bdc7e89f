import { expect, test } from "bun:test";
import { SampleHistory } from "./sample-history.ts";
import type { MemorySample } from "./types.ts";

const sample = (at: number, rssBytes = at): MemorySample => ({
  at,
  rssBytes,
  heapUsedBytes: 1,
  heapTotalBytes: 2,
  externalBytes: 0,
  arrayBuffersBytes: 0,
});

test("keeps the samples of the window, oldest first, and drops older ones", () => {
  const history = new SampleHistory({ windowMs: 1000, maxPoints: 10 });
  for (let at = 0; at <= 2000; at += 100) history.add(sample(at));
  expect(history.points(2000).map((s) => s.at)).toEqual([
    1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1900, 2000,
  ]);
  // Later, with nothing new, the window has moved on.
  expect(history.points(2900).map((s) => s.at)).toEqual([1900, 2000]);
});

test("skips samples closer together than window / maxPoints, so a fast interval costs no more memory", () => {
  const history = new SampleHistory({ windowMs: 1000, maxPoints: 4 });
  for (let at = 0; at <= 1000; at += 10) history.add(sample(at));
  // Spacing 250 ms: one kept per 250 ms, at most 4 in the ring.
  expect(history.points(1000).map((s) => s.at)).toEqual([250, 500, 750, 1000]);
});

test("points are copies", () => {
  const history = new SampleHistory();
  history.add(sample(1));
  const [first] = history.points(2);
  first!.rssBytes = 99;
  expect(history.points(2)[0]?.rssBytes).toBe(1);
});

test("refuses a ring too small to draw a line", () => {
  expect(() => new SampleHistory({ maxPoints: 1 })).toThrow(
    "Expected `maxPoints` to be an integer >= 2, got `1`",
  );
});
