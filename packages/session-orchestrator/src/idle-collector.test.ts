import { expect, test } from "bun:test";
import { until } from "../test/fixtures/until.ts";
import { IdleCollector } from "./idle-collector.ts";

test("collects once per stage after the host has been idle for the delays", async () => {
  let collections = 0;
  const collector = new IdleCollector(
    () => {},
    [20],
    () => collections++,
  );
  collector.idle();
  collector.idle();
  expect(collector.armed).toBe(true);
  await Bun.sleep(60);
  expect(collections).toBe(1);
  expect(collector.armed).toBe(false);
});

test("a turn that starts before the delay cancels the collection; dispose clears the timer", async () => {
  let collections = 0;
  const collector = new IdleCollector(
    () => {},
    [20],
    () => collections++,
  );
  collector.idle();
  collector.busy();
  await Bun.sleep(40);
  expect(collections).toBe(0);
  collector.idle();
  collector.dispose();
  expect(collector.armed).toBe(false);
  collector.idle();
  expect(collector.armed).toBe(false);
  await Bun.sleep(40);
  expect(collections).toBe(0);
});

test("a collection that throws is reported, not thrown", async () => {
  const errors: unknown[] = [];
  const collector = new IdleCollector(
    (error) => errors.push(error),
    [5],
    () => {
      throw new Error("no gc");
    },
  );
  collector.idle();
  await Bun.sleep(30);
  expect(errors.map(String)).toEqual(["Error: no gc"]);
});

test("each stage runs after the one before; a turn between them stops the rest until the next idle", async () => {
  const at: number[] = [];
  const began = performance.now();
  const collector = new IdleCollector(
    () => {},
    [10, 30],
    () => at.push(performance.now() - began),
  );
  collector.idle();
  await until(() => at.length === 2);
  expect(at.length).toBe(2);
  // the second stage's delay counts from the first collection (a margin for timer rounding)
  expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(25);
  expect(collector.armed).toBe(false);
  collector.idle();
  await until(() => at.length === 3);
  expect(collector.armed).toBe(true);
  collector.busy();
  await Bun.sleep(60);
  expect(at.length).toBe(3);
  collector.idle();
  await until(() => at.length === 4);
  expect(at.length).toBe(4);
  collector.dispose();
  expect(collector.armed).toBe(false);
});
