import { afterEach, expect, test } from "bun:test";
import { defineExtension } from "@dispatch/kernel";
import { estimatePromptTokens, type ModelRequest } from "@dispatch/providers";
import type { ConversationEvent } from "@dispatch/wire";
import { summariserInstruction, summariserSystem } from "../src/compaction.ts";
import { modelCallGatesPoint } from "../src/model-call-gate.ts";
import { type OrchestratorHost, startOrchestratorHost } from "./fixtures/orchestrator-host.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const window = 2000;
const summary = "SUMMARY: the user sent long notes and the agent acknowledged each one.";

/** A host whose scripted model has a small context window; `summariser` is what it answers a summarising call with. */
async function host(summariser: string, contextWindow = window, maxConcurrent = 4) {
  const requests: ModelRequest[] = [];
  const recorder = defineExtension({
    manifest: { id: "recorder", version: "0.1.0", extends: ["session-orchestrator"] },
    register(reg) {
      reg.contribute(modelCallGatesPoint, {
        id: "recorder",
        enter: async (call) => {
          requests.push(structuredClone(call.request));
          return { settle: async () => {} };
        },
      });
    },
    activate() {},
  });
  const h = await startOrchestratorHost({
    script: {
      replies: [
        { when: `^${summariserInstruction}`, steps: [{ text: summariser }] },
        { when: "^hold", steps: [{ text: "held for a while", chunks: 8, delayMs: 50 }] },
      ],
      fallback: { steps: [{ text: "Noted." }] },
    },
    models: [{ id: "demo", contextWindow }],
    extensions: [recorder],
    maxConcurrent,
  });
  cleanups.push(() => h.stop());
  return { h, requests };
}

async function turn(h: OrchestratorHost, conversationId: string, text: string) {
  const { turnId } = await h.orchestrator.startTurn({ conversationId, text });
  const events = await h.untilFinal(conversationId, turnId);
  return events.filter((e) => e.turnId === turnId);
}

const note = (i: number) => `note ${i}: ${"lorem ipsum dolor sit amet ".repeat(40)}`;
const ofType = (events: ConversationEvent[], type: string) => events.filter((e) => e.type === type);

test("a long conversation compacts with one summarising call whenever it nears the window, and every turn completes", async () => {
  const { h, requests } = await host(summary);
  const conversationId = await h.newConversation();
  const all: ConversationEvent[] = [];
  for (let i = 0; i < 40; i++) {
    const events = await turn(h, conversationId, note(i));
    expect(events.at(-1)?.type).toBe("turn.completed");
    all.push(...events);
  }
  const compacted = ofType(all, "context.compacted");
  expect(compacted.length).toBeGreaterThanOrEqual(3);
  for (const event of compacted) {
    const { beforeTokens, afterTokens } = event.data as { beforeTokens: number; afterTokens: number };
    expect(beforeTokens).toBeGreaterThan(0.8 * window);
    expect(afterTokens).toBeLessThanOrEqual(0.7 * beforeTokens);
  }
  // each compaction was one call announced by one context.compacting; later ones are calibrated
  expect(ofType(all, "context.compacting")).toHaveLength(compacted.length);
  expect(compacted.at(-1)?.data.estimated).toBe(false);
  // no request ever sent was past the window, and the stored messages all stay
  for (const request of requests) expect(estimatePromptTokens(request)).toBeLessThanOrEqual(window);
  expect(await h.store.messages.list(conversationId)).toHaveLength(80);
  // the turns after a compaction start from its summary instead of the whole history
  const last = requests.at(-1) as ModelRequest;
  expect(last.system).toContain(summary);
  expect(last.messages.length).toBeLessThan(80);
  expect(last.messages.at(-1)).toEqual({ role: "user", content: note(39) });
  const summarising = requests.filter((r) => r.system === summariserSystem);
  expect(summarising).toHaveLength(compacted.length);
  // a later summary is given the one before it
  expect(JSON.stringify(summarising.at(-1)?.messages)).toContain(summary);
});

test("a summariser that answers with more than it was given fails the turn with context_overflow after exactly one attempt", async () => {
  const { h, requests } = await host("Z".repeat(20_000));
  const conversationId = await h.newConversation();
  let failed: ConversationEvent[] = [];
  for (let i = 0; i < 20 && failed.length === 0; i++) {
    const events = await turn(h, conversationId, note(i));
    if (events.at(-1)?.type === "turn.failed") failed = events;
  }
  expect(failed.length).toBeGreaterThan(0);
  const final = failed.at(-1);
  expect(final?.data).toMatchObject({ code: "context_overflow", estimated: expect.any(Boolean) });
  expect(String(final?.data.error)).toContain("less than compaction.minShrink (30%)");
  expect(ofType(failed, "context.compacting")).toHaveLength(1);
  expect(ofType(failed, "context.compacted")).toHaveLength(0);
  expect(ofType(failed, "step.started")).toHaveLength(0);
  // the only call of the failed turn was the summariser's
  expect(requests.at(-1)?.system).toBe(summariserSystem);
  expect(requests.filter((r) => r.system === summariserSystem)).toHaveLength(1);
  const asked = requests.at(-1)?.messages[0];
  expect(asked?.role === "user" && asked.content.startsWith(summariserInstruction)).toBe(true);
  expect(final?.data.usage).toEqual({
    inputTokens: estimatePromptTokens(requests.at(-1) as ModelRequest),
    outputTokens: 5000,
    cachedInputTokens: 0,
  });
  // the conversation is not wedged: the failure is recorded and the stored messages are intact
  expect((await h.store.conversations.get(conversationId))?.status).toBe("failed");
});

test("a message that alone passes the window fails with context_overflow before any call", async () => {
  const { h, requests } = await host(summary, 200);
  const conversationId = await h.newConversation();
  const events = await turn(h, conversationId, "x".repeat(4000));
  expect(events.at(-1)?.data).toMatchObject({ code: "context_overflow" });
  expect(String(events.at(-1)?.data.error)).toContain(
    "nothing older than this turn's message can be summarised",
  );
  expect(requests).toHaveLength(0);
});

test("the summarising call waits for a provider slot like any model call", async () => {
  const { h } = await host(summary, window, 1);
  const conversationId = await h.newConversation();
  // three notes fit; a fourth, longer message takes the prompt past the threshold
  for (let i = 0; i < 3; i++) await turn(h, conversationId, note(i));
  // another conversation holds the only slot while this turn needs to compact
  const holder = await h.newConversation();
  const held = await h.orchestrator.startTurn({ conversationId: holder, text: "hold the slot" });
  const sub = h.orchestrator.subscribe(holder, 0);
  for await (const event of sub) if (event.type === "text.delta") break;
  sub.close();
  const events = await turn(h, conversationId, `long ${"y".repeat(3600)}`);
  await h.untilFinal(holder, held.turnId);
  const waiting = ofType(events, "turn.waiting");
  expect(waiting[0]?.data).toMatchObject({ purpose: "compaction", reason: "queue" });
  const order = events.map((e) => e.type).filter((t) => t.startsWith("context.") || t === "turn.waiting");
  expect(order.slice(0, 3)).toEqual(["turn.waiting", "context.compacting", "context.compacted"]);
  expect(events.at(-1)?.type).toBe("turn.completed");
});
