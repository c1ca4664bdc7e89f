import { afterEach, describe, expect, test } from "bun:test";
import { estimatePromptTokens } from "@dispatch/providers";
import type { ModelCallRefusal } from "@dispatch/session-orchestrator";
import type { Reservation } from "../src/usage-ledger.ts";
import { callOf, ledgerHost, manualClock, requestOf } from "./fixtures.ts";

/**
 * The ledger's cases, on SQLite (test/ledger.test.ts) or on a Postgres database from `database`
 * (test/ledger.postgres.test.ts).
 */
export function ledgerCases(database?: () => Promise<{ url: string; drop(): Promise<void> }>): void {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function host(
    config: Parameters<typeof ledgerHost>[0] = {},
    options: Parameters<typeof ledgerHost>[1] = {},
  ) {
    const made = database === undefined ? undefined : await database();
    const h = await ledgerHost(config, { ...options, ...(made === undefined ? {} : { storeUrl: made.url }) });
    cleanups.push(() => h.test.stop());
    if (made !== undefined) cleanups.push(() => made.drop());
    return h;
  }

  const usageOf = (input: number, output = 0, cached = 0) => ({
    usage: { inputTokens: input, outputTokens: output, cachedInputTokens: cached },
    answered: true,
  });

  function expectReserved(held: Reservation | ModelCallRefusal): Reservation {
    if ("refused" in held) throw new Error(`refused: ${held.refused.message}`);
    return held;
  }

  test("the estimate is the prompt's 4-characters-a-token count plus the output reserve (or maxOutputTokens)", async () => {
    const { ledger } = await host({ outputReserveTokens: 50 });
    expect(estimatePromptTokens(requestOf(300))).toBe(300);
    const held = expectReserved(await ledger.reserve(callOf(300)));
    expect([held.promptTokens, held.tokens]).toEqual([300, 350]);
    const capped = callOf(300);
    const withMax = expectReserved(
      await ledger.reserve({ ...capped, request: { ...capped.request, maxOutputTokens: 7 } }),
    );
    expect(withMax.tokens).toBe(307);
  });

  describe("daily budgets", () => {
    test("20 calls racing for a budget that fits 5 estimates: exactly 5 pass, the rest are refused naming the budget", async () => {
      const { ledger, refused } = await host({ workspaceDailyTokens: 5 * 1000, outputReserveTokens: 0 });
      const answers = await Promise.all(Array.from({ length: 20 }, () => ledger.reserve(callOf(1000))));
      const passed = answers.filter((a): a is Reservation => !("refused" in a));
      expect(passed).toHaveLength(5);
      const refusal = answers.find((a): a is ModelCallRefusal => "refused" in a);
      expect(refusal?.refused.code).toBe("budget_exceeded");
      expect(refusal?.refused.message).toContain(
        'the workspaceDailyTokens budget of workspace "default" (5000 tokens on 2026-12-01, UTC) would be passed: 0 used, 5000 held by calls in flight',
      );
      expect(refusal?.refused.message).toContain("it renews at 2026-12-02T00:00:00.000Z");
      expect(refused).toEqual(Array.from({ length: 15 }, () => "workspaceDailyTokens"));
      // settling at the estimate keeps the line: nothing more fits today
      for (const held of passed) await ledger.settle(held, usageOf(1000));
      expect("refused" in (await ledger.reserve(callOf(20)))).toBe(true);
    });

    test("settling below the estimate gives the rest back; above it is charged in full", async () => {
      const { ledger } = await host({ workspaceDailyTokens: 3000, outputReserveTokens: 0 });
      const first = expectReserved(await ledger.reserve(callOf(2000)));
      expect("refused" in (await ledger.reserve(callOf(1500)))).toBe(true);
      await ledger.settle(first, usageOf(500));
      const second = expectReserved(await ledger.reserve(callOf(2500)));
      await ledger.settle(second, usageOf(2000, 900));
      const report = await ledger.report({ groupBy: "day" });
      expect(report.total).toMatchObject({
        calls: 2,
        inputTokens: 2500,
        outputTokens: 900,
        totalTokens: 3400,
      });
      const refusal = await ledger.reserve(callOf(20));
      expect("refused" in refusal && refusal.refused.message).toContain("3400 used");
    });

    test("the host budget counts every workspace; a workspace budget only its own", async () => {
      const { ledger } = await host({
        workspaceDailyTokens: 1000,
        hostDailyTokens: 1500,
        outputReserveTokens: 0,
      });
      await ledger.settle(
        expectReserved(await ledger.reserve(callOf(900, { workspaceId: "a" }))),
        usageOf(900),
      );
      // a is nearly spent; b has its own 1000, but the host has only 600 left
      expect("refused" in (await ledger.reserve(callOf(200, { workspaceId: "a" })))).toBe(true);
      const b = await ledger.reserve(callOf(700, { workspaceId: "b" }));
      expect("refused" in b && b.refused.message).toContain(
        `the hostDailyTokens budget of ${database === undefined ? "this host" : "all hosts sharing the database"} (1500 tokens`,
      );
      expect("refused" in (await ledger.reserve(callOf(500, { workspaceId: "b" })))).toBe(false);
    });

    test("a new day (in budgets.timeZone) starts from nothing", async () => {
      const clock = manualClock(Date.UTC(2026, 11, 1, 22, 30));
      const { ledger } = await host(
        { workspaceDailyTokens: 1000, outputReserveTokens: 0, timeZone: "Europe/Paris" },
        { clock },
      );
      await ledger.settle(expectReserved(await ledger.reserve(callOf(1000))), usageOf(1000));
      const refused = await ledger.reserve(callOf(20));
      // 22:30 UTC is 23:30 in Paris: the day renews at 23:00 UTC
      expect("refused" in refused && refused.refused.message).toContain(
        "it renews at 2026-12-01T23:00:00.000Z",
      );
      clock.now = Date.UTC(2026, 11, 1, 23, 0);
      expect("refused" in (await ledger.reserve(callOf(20)))).toBe(false);
      const days = await ledger.report({ groupBy: "day" });
      expect(days.groups.map((g) => g.day)).toEqual(["2026-12-01"]);
    });

    test("reservations of turns that no longer run are dropped at start; a finished turn's leftovers too", async () => {
      const { test, ledger } = await host({ workspaceDailyTokens: 1000, outputReserveTokens: 0 });
      expectReserved(await ledger.reserve(callOf(800, { turnId: "gone" })));
      expect("refused" in (await ledger.reserve(callOf(800)))).toBe(true);
      // no such turn is running in the store: a crash left it
      expect(await ledger.dropStaleReservations()).toBe(1);
      const held = expectReserved(await ledger.reserve(callOf(800, { turnId: "t-left" })));
      expect(held.rowId).toBeDefined();
      await ledger.forgetTurn("t-left");
      expect("refused" in (await ledger.reserve(callOf(800)))).toBe(false);
      expect(test.logs.filter((l) => l.level === "error")).toEqual([]);
    });
  });

  describe("per-turn budget", () => {
    test("the calls of one turn add up; the call that would pass the budget is refused", async () => {
      const { ledger, refused } = await host({ perTurnTokens: 2500, outputReserveTokens: 0 });
      const turnId = "long-turn";
      for (let i = 0; i < 2; i++) {
        const held = expectReserved(await ledger.reserve(callOf(100, { turnId })));
        await ledger.settle(held, usageOf(1000, 100));
      }
      const third = await ledger.reserve(callOf(400, { turnId }));
      expect("refused" in third && third.refused.message).toBe(
        "the perTurnTokens budget (2500) would be passed: this turn has used 2200 tokens and its next model call needs about 400; the turn stops here",
      );
      expect(refused).toEqual(["perTurnTokens"]);
      // another turn has its own count
      expect("refused" in (await ledger.reserve(callOf(400)))).toBe(false);
    });
  });

  describe("records", () => {
    test("a call that read its prompt but reported nothing is charged its prompt estimate; one that never got there costs nothing", async () => {
      const { ledger } = await host({ workspaceDailyTokens: 10_000, outputReserveTokens: 100 });
      const cancelled = expectReserved(await ledger.reserve(callOf(300)));
      await ledger.settle(cancelled, { usage: undefined, answered: true });
      const refused429 = expectReserved(await ledger.reserve(callOf(300)));
      await ledger.settle(refused429, { usage: undefined, answered: false });
      const report = await ledger.report({ groupBy: "day" });
      expect(report.total).toMatchObject({ calls: 1, inputTokens: 300, outputTokens: 0 });
      // both reservations are gone: 10_000 - 300 is left
      expect("refused" in (await ledger.reserve(callOf(9600)))).toBe(false);
    });

    test("calls settled in the same loop turn are each recorded, and the daily rows take their sum", async () => {
      const { ledger } = await host({ workspaceDailyTokens: 1_000_000, outputReserveTokens: 0 });
      const held = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          ledger.reserve(callOf(100, { turnId: `t${i}`, workspaceId: i % 2 === 0 ? "a" : "b" })),
        ),
      );
      await Promise.all(held.map((h, i) => ledger.settle(expectReserved(h), usageOf(100 + i, 10))));
      const byDay = await ledger.report({ groupBy: "day" });
      expect(byDay.groups.map((g) => [g.calls, g.totalTokens])).toEqual([[10, 10 * 110 + 45]]);
      const a = await ledger.report({ groupBy: "day", workspaceId: "a" });
      expect(a.total.totalTokens).toBe(5 * 110 + (0 + 2 + 4 + 6 + 8));
      // the reservations went with the charges: a call that needs all but what was charged still fits
      const rest = 1_000_000 - (5 * 110 + 20);
      expect("refused" in (await ledger.reserve(callOf(rest, { workspaceId: "a" })))).toBe(false);
    });

    test("GET /usage sums group by day, conversation and model, filter by workspace and time, and price calls", async () => {
      const clock = manualClock(Date.UTC(2026, 11, 1, 10, 0));
      const { ledger } = await host(
        { prices: { p: { m: { input: 3, output: 15, cachedInput: 0.3 } } }, outputReserveTokens: 0 },
        { clock },
      );
      const record = async (options: Parameters<typeof callOf>[1], usage: ReturnType<typeof usageOf>) =>
        ledger.settle(expectReserved(await ledger.reserve(callOf(20, options))), usage);
      await record({ turnId: "a1", workspaceId: "a" }, usageOf(1_000_000, 100_000, 400_000));
      await record({ turnId: "a1", workspaceId: "a", model: "other" }, usageOf(10, 5));
      clock.now = Date.UTC(2026, 11, 2, 9, 0);
      await record({ turnId: "b1", workspaceId: "b" }, usageOf(2000, 1000));

      const byDay = await ledger.report({ groupBy: "day" });
      expect(byDay.groups.map((g) => [g.day, g.calls, g.totalTokens])).toEqual([
        ["2026-12-01", 2, 1_100_015],
        ["2026-12-02", 1, 3000],
      ]);
      // 600k fresh input at 3, 400k cached at 0.3, 100k output at 15 (per million)
      const first = 0.6 * 3 + 0.4 * 0.3 + 0.1 * 15;
      expect(byDay.groups[0]?.cost).toBeCloseTo(first, 10);
      expect(byDay.groups[0]?.unpricedCalls).toBe(1);
      expect(byDay.total.cost).toBeCloseTo(first + (2000 * 3 + 1000 * 15) / 1e6, 10);

      const byModel = await ledger.report({ groupBy: "model" });
      expect(byModel.groups.map((g) => [g.provider, g.model, g.calls])).toEqual([
        ["p", "m", 2],
        ["p", "other", 1],
      ]);
      const byConversation = await ledger.report({ groupBy: "conversation", workspaceId: "a" });
      expect(
        byConversation.groups.map((g) => [g.conversationId, g.workspaceId, g.cachedInputTokens]),
      ).toEqual([["conv-a1", "a", 400_000]]);
      const window = await ledger.report({ groupBy: "day", from: "2026-12-02", to: "2026-12-03" });
      expect(window.total.calls).toBe(1);
      expect(window).toMatchObject({ from: "2026-12-02T00:00:00.000Z", to: "2026-12-03T00:00:00.000Z" });
      const none = await ledger.report({ groupBy: "model", workspaceId: "nobody" });
      expect(none.groups).toEqual([]);
      expect(none.total).toEqual({
        calls: 0,
        inputTokens: 0,
        outputTokens: 0,
        cachedInputTokens: 0,
        totalTokens: 0,
        cost: null,
        unpricedCalls: 0,
      });
    });
  });
}
