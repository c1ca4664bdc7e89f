import { expect, test } from "bun:test";
import fc from "fast-check";
import { abortableSleep, backoffDelay } from "./backoff.ts";

test("backoff delays stay within [0, min(maxMs, baseMs·2^(n-1))]", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 0, max: 10_000 }),
      fc.integer({ min: 0, max: 100_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (retry, baseMs, maxMs, r) => {
        const delay = backoffDelay(retry, { baseMs, maxMs }, () => r);
        const ceiling = Math.min(maxMs, baseMs * 2 ** (retry - 1));
        return Number.isInteger(delay) && delay >= 0 && (delay < ceiling || delay === 0);
      },
    ),
  );
});

test("the ceiling doubles per retry until the cap", () => {
  const top = () => 0.999_999;
  const options = { baseMs: 100, maxMs: 1000 };
  expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, options, top))).toEqual([99, 199, 399, 799, 999, 999]);
});

test("abortableSleep resolves false at once when aborted, before or during the wait", async () => {
  const before = new AbortController();
  before.abort();
  expect(await abortableSleep(60_000, before.signal)).toBe(false);
  const during = new AbortController();
  const sleeping = abortableSleep(60_000, during.signal);
  during.abort();
  expect(await sleeping).toBe(false);
  expect(await abortableSleep(1, new AbortController().signal)).toBe(true);
});
