import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  conversationStoreExtension,
  conversationStoreRef,
  databaseFileName,
} from "@dispatch/conversation-store";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { providersExtension } from "@dispatch/providers";
import { orchestratorRef, sessionOrchestratorExtension } from "@dispatch/session-orchestrator";
import { httpServerRef, transportHttpExtension } from "@dispatch/transport-http";
import type { UsageReport } from "@dispatch/wire";
import { budgetClock, clockOffsetEnv } from "../src/clock.ts";
import { budgetsConfigSchema } from "../src/config.ts";
import { usageExtension } from "../src/extension.ts";
import * as schema from "../src/schema.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(
  options: { dataDir?: string; budgets?: Record<string, unknown> } = {},
): Promise<TestHost> {
  const test = await createTestHost({
    extensions: [
      conversationStoreExtension,
      providerConcurrencyExtension,
      providersExtension,
      sessionOrchestratorExtension,
      transportHttpExtension,
      usageExtension,
    ],
    config: {
      server: { port: 0 },
      providers: [
        {
          id: "scripted",
          kind: "scripted",
          script: {
            replies: [],
            fallback: { steps: [{ text: "hi", usage: { input: 40, output: 2, cached: 10 } }] },
          },
        },
      ],
      budgets: options.budgets ?? {},
    },
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
  });
  return test;
}

async function finished(test: TestHost, turnId: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const off = test.host.bus.subscribe("test", "turn.finished", (payload) => {
      if (payload.turnId !== turnId) return;
      off();
      resolve();
    });
  });
}

test("every model call of a turn is recorded with it, and GET /usage answers through the HTTP server", async () => {
  const test = await start();
  cleanups.push(() => test.stop());
  const orchestrator = test.get(orchestratorRef);
  const conversation = await orchestrator.createConversation({ workspaceId: "default" });
  const { turnId } = await orchestrator.startTurn({ conversationId: conversation.id, text: "hello" });
  await finished(test, turnId);
  const address = test.get(httpServerRef).address();
  const report = (await (
    await fetch(`http://${address?.host}:${address?.port}/usage?groupBy=conversation`)
  ).json()) as UsageReport;
  expect(report.groups).toEqual([
    {
      conversationId: conversation.id,
      workspaceId: "default",
      calls: 1,
      inputTokens: 40,
      outputTokens: 2,
      cachedInputTokens: 10,
      totalTokens: 42,
      cost: null,
      unpricedCalls: 1,
    },
  ]);
  const db = test.get(conversationStoreRef).database(schema);
  const [row] = await db.select().from(schema.calls);
  expect(row).toMatchObject({ turnId, provider: "scripted", model: "demo", estimated: false });
});

test("a call's usage is committed no later than its turn's final event, which does not wait for it", async () => {
  const test = await start();
  cleanups.push(() => test.stop());
  const orchestrator = test.get(orchestratorRef);
  // another connection, read at the instant a final event is delivered: what was committed by then
  const reader = new Database(join(test.dataDir, databaseFileName), { readonly: true });
  cleanups.push(() => reader.close());
  const recorded = reader.query<{ n: number }, [string]>(
    "SELECT count(*) AS n FROM usage_calls WHERE turn_id = ?",
  );
  // conversations at once, so other turns' writes share the loop turns in which each call settles
  const runTurns = async () => {
    const conversation = await orchestrator.createConversation({ workspaceId: "default" });
    const seen: Array<number | undefined> = [];
    for (let i = 0; i < 5; i += 1) {
      const subscription = orchestrator.subscribe(conversation.id, 0);
      const { turnId } = await orchestrator.startTurn({ conversationId: conversation.id, text: "hello" });
      for await (const event of subscription) {
        if (event.turnId !== turnId || event.type !== "turn.completed") continue;
        seen.push(recorded.get(turnId)?.n);
        break;
      }
      subscription.close();
    }
    return seen;
  };
  const seen = (await Promise.all([runTurns(), runTurns(), runTurns(), runTurns()])).flat();
  expect(seen).toEqual(new Array(20).fill(1));
});

test("reservations left by a crash are dropped when the extension starts again", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "usage-ext-"));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const budgets = { workspaceDailyTokens: 1000 };
  const first = await start({ dataDir, budgets });
  const db = first.get(conversationStoreRef).database(schema);
  await db.insert(schema.reservations).values({
    id: "ur_left",
    turnId: "t_crashed",
    workspaceId: "default",
    day: "2026-12-01",
    tokens: 900,
    createdAt: 0,
  });
  await first.stop();
  const second = await start({ dataDir, budgets });
  cleanups.push(() => second.stop());
  expect(
    second.logs.find((l) => l.msg === "reservations of turns that no longer run were dropped"),
  ).toMatchObject({
    dropped: 1,
  });
  expect(await second.get(conversationStoreRef).database(schema).select().from(schema.reservations)).toEqual(
    [],
  );
});

test("the budgets config names the path of each mistake", () => {
  const parsed = budgetsConfigSchema.safeParse({
    perTurnTokens: 0,
    timeZone: "Mars/Olympus",
    prices: { p: { m: { input: 1 } } },
    extra: true,
  });
  expect(parsed.success).toBe(false);
  const paths = parsed.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];
  expect(paths.some((p) => p.startsWith("perTurnTokens:"))).toBe(true);
  expect(paths).toContain("timeZone: must be an IANA time zone such as UTC or Europe/Paris");
  expect(paths.some((p) => p.startsWith("prices.p.m.output:"))).toBe(true);
  expect(parsed.error?.issues.some((i) => i.code === "unrecognized_keys")).toBe(true);
  expect(budgetsConfigSchema.parse(undefined)).toEqual({
    prices: {},
    timeZone: "UTC",
    outputReserveTokens: 1024,
  });
});

test("the test clock adds the milliseconds in its file, read at every call; no file means no offset", () => {
  const dir = mkdtempSync(join(tmpdir(), "usage-clock-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "offset");
  const clock = budgetClock({ [clockOffsetEnv]: file });
  const before = Date.now();
  expect(clock()).toBeGreaterThanOrEqual(before);
  writeFileSync(file, String(86_400_000));
  expect(clock()).toBeGreaterThanOrEqual(before + 86_400_000);
  writeFileSync(file, "tomorrow");
  expect(() => clock()).toThrow("must hold a number of milliseconds");
  expect(budgetClock({})).toBe(Date.now);
});
