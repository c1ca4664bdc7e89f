import { expect, test } from "bun:test";
import { reusingRecent } from "./recent-sample.ts";

test("a reading is reused until it is maxAgeMs old, then taken again", () => {
  let clock = 0;
  let reads = 0;
  const sample = reusingRecent(
    () => ({ rssBytes: ++reads, heapUsedBytes: 0 }),
    250,
    () => clock,
  );
  expect(sample().rssBytes).toBe(1);
  clock = 249;
  expect(sample().rssBytes).toBe(1);
  clock = 250;
  expect(sample().rssBytes).toBe(2);
  expect(reads).toBe(2);
});

test("a sampler that throws is asked again next time", () => {
  let calls = 0;
  const sample = reusingRecent(
    () => {
      calls += 1;
      if (calls === 1) throw new Error("no /proc");
      return { rssBytes: 5, heapUsedBytes: 0 };
    },
    250,
    () => 0,
  );
  expect(() => sample()).toThrow("no /proc");
  expect(sample().rssBytes).toBe(5);
});
