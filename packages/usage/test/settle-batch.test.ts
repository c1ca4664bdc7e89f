import { expect, test } from "bun:test";
import { type DailyCharge, SettleBatch, type SettleWrite, summedDaily } from "../src/settle-batch.ts";

const charge = (scope: string, tokens: number, day = "2026-12-01"): DailyCharge => ({ scope, day, tokens });

test("the settles of one loop turn are one store call, with the daily rows summed in lock order", async () => {
  const stored: Array<{ writes: readonly SettleWrite[]; daily: readonly DailyCharge[] }> = [];
  const batch = new SettleBatch(async (writes, daily) => {
    stored.push({ writes, daily });
  });
  await Promise.all([
    batch.settle({ call: { id: "a" }, daily: [charge("host", 10), charge("workspace:w2", 10)] }),
    batch.settle({ release: "r1", call: { id: "b" }, daily: [charge("host", 5), charge("workspace:w1", 5)] }),
    batch.settle({ release: "r2", daily: [] }),
  ]);
  await batch.settle({ call: { id: "c" }, daily: [charge("host", 1)] });
  expect(stored.map((s) => s.writes.length)).toEqual([3, 1]);
  expect(stored[0]?.daily).toEqual([
    charge("host", 15),
    charge("workspace:w1", 5),
    charge("workspace:w2", 10),
  ]);
});

test("a batch whose store call fails rejects every settle in it; the next batch is stored", async () => {
  let fail = true;
  const failure = new Error("disk full");
  const batch = new SettleBatch(async () => {
    if (fail) throw failure;
  });
  const first = await Promise.allSettled([batch.settle({ daily: [] }), batch.settle({ daily: [] })]);
  expect(first).toEqual([
    { status: "rejected", reason: failure },
    { status: "rejected", reason: failure },
  ]);
  fail = false;
  await expect(batch.settle({ daily: [] })).resolves.toBeUndefined();
});

test("summedDaily keeps days apart and puts the host row first", () => {
  expect(
    summedDaily([
      { daily: [charge("workspace:a", 1, "2026-12-02"), charge("host", 2, "2026-12-02")] },
      { daily: [charge("workspace:a", 3, "2026-12-01"), charge("host", 4, "2026-12-01")] },
    ]),
  ).toEqual([
    charge("host", 4, "2026-12-01"),
    charge("host", 2, "2026-12-02"),
    charge("workspace:a", 3, "2026-12-01"),
    charge("workspace:a", 1, "2026-12-02"),
  ]);
});
