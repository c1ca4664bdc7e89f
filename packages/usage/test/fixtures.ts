import {
  type ConversationStore,
  conversationStoreExtension,
  conversationStoreRef,
  storeSchemasPoint,
} from "@dispatch/conversation-store";
import { defineExtension } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { estimatePromptTokens, type ModelRequest } from "@dispatch/providers";
import type { ModelCall } from "@dispatch/session-orchestrator";
import type { BudgetName } from "../src/budgets.ts";
import { type BudgetsConfig, budgetsConfigSchema } from "../src/config.ts";
import { UsageLedger } from "../src/usage-ledger.ts";

/** The usage tables alone (the ledger without the gate and routes), contributed the way the extension does. */
export const usageTablesOnly = defineExtension({
  manifest: { id: "usage", version: "0.1.0", extends: ["conversation-store"] },
  register(reg) {
    reg.contribute(storeSchemasPoint, {
      migrations: {
        sqlite: new URL("../drizzle", import.meta.url),
        postgres: new URL("../drizzle-postgres", import.meta.url),
      },
    });
  },
  activate() {},
});

/** A clock the test moves by hand. */
export interface ManualClock {
  now: number;
  (): number;
}

export function manualClock(start: number): ManualClock {
  const clock = (() => clock.now) as ManualClock;
  clock.now = start;
  return clock;
}

/** A real store with the usage tables and a ledger over it, in a temp data dir (or on `storeUrl`). */
export async function ledgerHost(
  config: Record<string, unknown> = {},
  options: { clock?: ManualClock; dataDir?: string; storeUrl?: string } = {},
): Promise<{
  test: TestHost;
  store: ConversationStore;
  ledger: UsageLedger;
  clock: ManualClock;
  config: BudgetsConfig;
  refused: BudgetName[];
}> {
  const test = await createTestHost({
    extensions: [conversationStoreExtension, usageTablesOnly],
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.storeUrl ? { config: { store: { url: options.storeUrl } } } : {}),
  });
  const clock = options.clock ?? manualClock(Date.UTC(2026, 11, 1, 12, 0));
  const parsed = budgetsConfigSchema.parse(config);
  const store = test.get(conversationStoreRef);
  const refused: BudgetName[] = [];
  const ledger = new UsageLedger({
    store,
    config: parsed,
    clock,
    observe: { refused: (budget) => void refused.push(budget) },
  });
  return { test, store, ledger, clock, config: parsed, refused };
}

/** A request whose estimate is `tokens` prompt tokens (4 characters a token). */
export function requestOf(tokens: number): ModelRequest {
  const base: ModelRequest = { model: "m", messages: [{ role: "user", content: "" }], tools: [] };
  const overhead = estimatePromptTokens(base) * 4;
  if (tokens * 4 < overhead) throw new Error(`a request is at least ${overhead / 4} tokens`);
  return { ...base, messages: [{ role: "user", content: "x".repeat(tokens * 4 - overhead) }] };
}

let turns = 0;

/** A model call of a fresh turn (or `turnId`). */
export function callOf(
  promptTokens: number,
  options: { workspaceId?: string; turnId?: string; provider?: string; model?: string } = {},
): ModelCall {
  turns += 1;
  return {
    turnId: options.turnId ?? `turn-${turns}`,
    conversationId: `conv-${options.turnId ?? turns}`,
    workspaceId: options.workspaceId ?? "default",
    providerId: options.provider ?? "p",
    model: options.model ?? "m",
    request: { ...requestOf(promptTokens), model: options.model ?? "m" },
    signal: new AbortController().signal,
  };
}
