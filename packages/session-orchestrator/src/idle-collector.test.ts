import { expect, test } from "bun:test";
import { IdleCollector } from "./idle-collector.ts";

test("collects once after the host has been idle for the delay", async () => {
  let collections = 0;
  const collector = new IdleCollector(
    () => {},
    20,
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
    20,
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
    5,
    () => {
      throw new Error("no gc");
    },
  );
  collector.idle();
  await Bun.sleep(30);
  expect(errors.map(String)).toEqual(["Error: no gc"]);
});
