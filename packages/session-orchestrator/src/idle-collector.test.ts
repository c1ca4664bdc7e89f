import { expect, test } from "bun:test";
import { IdleCollector } from "./idle-collector.ts";

function counting(...afterMs: number[]) {
  const ran: number[] = [];
  return { ran, stages: afterMs.map((ms, i) => ({ afterMs: ms, collect: () => ran.push(i) })) };
}

test("runs each stage once, in order, while the host stays idle", async () => {
  const { ran, stages } = counting(10, 30);
  const collector = new IdleCollector(() => {}, stages);
  collector.idle();
  collector.idle();
  expect(collector.armed).toBe(true);
  await Bun.sleep(80);
  expect(ran).toEqual([0, 1]);
  expect(collector.armed).toBe(false);
});

test("a turn that starts cancels the stages still to come; the next idle period starts over", async () => {
  const { ran, stages } = counting(10, 60);
  const collector = new IdleCollector(() => {}, stages);
  collector.idle();
  await Bun.sleep(30);
  collector.busy();
  expect(collector.armed).toBe(false);
  await Bun.sleep(60);
  expect(ran).toEqual([0]);
  collector.idle();
  await Bun.sleep(30);
  expect(ran).toEqual([0, 0]);
  collector.dispose();
  expect(collector.armed).toBe(false);
  collector.idle();
  expect(collector.armed).toBe(false);
  await Bun.sleep(60);
  expect(ran).toEqual([0, 0]);
});

test("a stage that throws is reported, not thrown, and the next one still runs", async () => {
  const errors: unknown[] = [];
  const ran: string[] = [];
  const collector = new IdleCollector(
    (error) => errors.push(error),
    [
      {
        afterMs: 5,
        collect: () => {
          throw new Error("no gc");
        },
      },
      { afterMs: 10, collect: () => ran.push("second") },
    ],
  );
  collector.idle();
  await Bun.sleep(50);
  expect(errors.map(String)).toEqual(["Error: no gc"]);
  expect(ran).toEqual(["second"]);
});
