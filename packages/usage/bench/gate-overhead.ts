/**
 * What the usage extension adds to a turn: single-step turns with a zero-delay scripted provider on a
 * host with the usage extension and daily budgets (a reservation transaction before the call, a
 * settle transaction after it) against a host without it, measured in the same run, alternating.
 *
 *   bun packages/usage/bench/gate-overhead.ts
 */

import { median } from "@dispatch/bench-kit";
import { conversationStoreExtension, conversationStoreRef } from "@dispatch/conversation-store";
import type { AnyExtension } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { providersExtension } from "@dispatch/providers";
import { orchestratorRef, sessionOrchestratorExtension } from "@dispatch/session-orchestrator";
import { transportHttpExtension } from "@dispatch/transport-http";
import { usageExtension } from "../src/extension.ts";

const config = {
  server: { port: 0 },
  providers: [
    {
      id: "scripted",
      kind: "scripted",
      maxConcurrent: 1000,
      script: { replies: [], fallback: { steps: [{ text: "Done." }] } },
    },
  ],
  defaults: { coalesceMs: 10 },
  budgets: process.env.NO_BUDGETS
    ? {}
    : { workspaceDailyTokens: 1e12, hostDailyTokens: 1e12, perTurnTokens: 1e9 },
};
const base: AnyExtension[] = [
  conversationStoreExtension,
  providerConcurrencyExtension,
  providersExtension,
  sessionOrchestratorExtension,
  transportHttpExtension,
];

interface Side {
  test: TestHost;
  turn(conversationId: string): Promise<void>;
  conversations(n: number): Promise<string[]>;
}

async function side(extensions: AnyExtension[]): Promise<Side> {
  const test = await createTestHost({ extensions, config });
  const orchestrator = test.get(orchestratorRef);
  const store = test.get(conversationStoreRef);
  const waiting = new Map<string, () => void>();
  const early = new Set<string>();
  test.host.bus.subscribe("bench", "turn.finished", ({ turnId, status }) => {
    if (status !== "completed") throw new Error(`turn ${turnId} ended ${status}`);
    const resolve = waiting.get(turnId);
    if (resolve) resolve();
    else early.add(turnId);
  });
  return {
    test,
    async turn(conversationId) {
      const { turnId } = await orchestrator.startTurn({ conversationId, text: "go" });
      if (early.delete(turnId)) return;
      await new Promise<void>((resolve) => waiting.set(turnId, resolve));
      waiting.delete(turnId);
    },
    conversations: (n) =>
      Promise.all(
        Array.from({ length: n }, async () => {
          const c = await store.conversations.create({
            workspaceId: "default",
            provider: "scripted",
            model: "demo",
          });
          return c.id;
        }),
      ),
  };
}

const plain = await side(base);
const gated = await side([...base, usageExtension]);

/** Per-turn wall time of `rounds` rounds of `width` turns at once, the two hosts alternating. */
async function measure(width: number, rounds: number) {
  const times = { plain: [] as number[], gated: [] as number[] };
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, s] of [
      ["plain", plain],
      ["gated", gated],
    ] as const) {
      // fresh conversations each round, so the history a turn loads stays the same
      const ids = await s.conversations(width);
      const t0 = performance.now();
      await Promise.all(ids.map((id) => s.turn(id)));
      times[name].push((performance.now() - t0) / width);
    }
  }
  return { plain: median(times.plain), gated: median(times.gated) };
}

await measure(1, 100);
await measure(50, 3);
const rows = [];
for (const [width, rounds] of [
  [1, 600],
  [50, 30],
] as const) {
  const { plain: p, gated: g } = await measure(width, rounds);
  rows.push({
    conversations: width,
    plainMs: Number(p.toFixed(4)),
    withUsageMs: Number(g.toFixed(4)),
    addedMs: Number((g - p).toFixed(4)),
    ratio: Number((g / p).toFixed(2)),
  });
}
console.log("per-turn wall time, median over rounds (at width 50: round time / 50)");
console.table(rows);
await plain.test.stop();
await gated.test.stop();
