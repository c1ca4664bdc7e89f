import { afterEach, expect, test } from "bun:test";
import { defineExtension } from "@dispatch/kernel";
import type { ModelCall, ModelCallGate, ModelCallOutcome } from "../src/model-call-gate.ts";
import { modelCallGatesPoint } from "../src/model-call-gate.ts";
import { type OrchestratorHost, startOrchestratorHost } from "./fixtures/orchestrator-host.ts";
import { echoTool, sleepTool } from "./fixtures/test-tools.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const script = {
  replies: [
    {
      when: "^three",
      steps: [
        { tool: "echo", input: { text: "1" }, usage: { input: 100, output: 10, cached: 40 } },
        { tool: "echo", input: { text: "2" }, usage: { input: 200, output: 20 } },
        { text: "done", usage: { input: 300, output: 30, cached: 5 } },
      ],
    },
    { when: "^slow", steps: [{ text: "x".repeat(50), chunks: 50, delayMs: 200 }] },
  ],
  fallback: { steps: [{ text: "hi", usage: { input: 7, output: 3 } }] },
};

/** A gate recording what it sees; refuses calls past `allow`. */
function recordingGate(allow = Number.POSITIVE_INFINITY) {
  const calls: ModelCall[] = [];
  const outcomes: ModelCallOutcome[] = [];
  const gate: ModelCallGate = {
    id: "recorder",
    enter: async (call) => {
      calls.push(call);
      if (calls.length > allow) {
        return { refused: { code: "budget_exceeded", message: `only ${allow} calls allowed` } };
      }
      return { settle: async (outcome) => void outcomes.push(outcome) };
    },
  };
  return { gate, calls, outcomes };
}

async function hostWith(...gates: ModelCallGate[]): Promise<OrchestratorHost> {
  const extensions = gates.map((gate) =>
    defineExtension({
      manifest: { id: `gate-${gate.id}`, version: "0.1.0", extends: ["session-orchestrator"] },
      register(reg) {
        reg.contribute(modelCallGatesPoint, gate);
      },
      activate() {},
    }),
  );
  const h = await startOrchestratorHost({ script, extensions });
  h.orchestrator.tools.register(echoTool);
  h.orchestrator.tools.register(sleepTool());
  cleanups.push(() => h.stop());
  return h;
}

async function run(h: OrchestratorHost, text: string) {
  const conversationId = await h.newConversation();
  const { turnId } = await h.orchestrator.startTurn({ conversationId, text });
  return { conversationId, turnId, events: await h.untilFinal(conversationId, turnId) };
}

test("a gate sees every call before it is made and settles it with the provider's usage", async () => {
  const { gate, calls, outcomes } = recordingGate();
  const h = await hostWith(gate);
  const { conversationId, turnId, events } = await run(h, "three steps");
  expect(events.at(-1)?.type).toBe("turn.completed");
  expect(calls.map((c) => [c.turnId, c.conversationId, c.workspaceId, c.providerId, c.model])).toEqual(
    Array.from({ length: 3 }, () => [turnId, conversationId, "default", "scripted", "demo"]),
  );
  // the request is the one sent: the second call sees the first step's tool result
  expect(calls[1]?.request.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
  expect(outcomes).toEqual([
    { usage: { inputTokens: 100, outputTokens: 10, cachedInputTokens: 40 }, answered: true },
    { usage: { inputTokens: 200, outputTokens: 20, cachedInputTokens: 0 }, answered: true },
    { usage: { inputTokens: 300, outputTokens: 30, cachedInputTokens: 5 }, answered: true },
  ]);
  // the turn's own usage is the sum, cached tokens included
  expect(events.at(-1)?.data.usage).toEqual({ inputTokens: 600, outputTokens: 60, cachedInputTokens: 45 });
});

test("a refused call is not made: the turn fails with the gate's code and message, and earlier gates are settled", async () => {
  const first = recordingGate();
  const second = recordingGate(1);
  second.gate = { ...second.gate, id: "second" };
  const h = await hostWith(first.gate, second.gate);
  const { events } = await run(h, "three steps");
  const final = events.at(-1);
  expect(final?.type).toBe("turn.failed");
  expect(final?.data).toMatchObject({ code: "budget_exceeded", error: "only 1 calls allowed", step: 2 });
  // the first step ran; the second was refused before any slot or stream
  expect(events.filter((e) => e.type === "step.started")).toHaveLength(1);
  expect(first.calls).toHaveLength(2);
  expect(first.outcomes).toEqual([
    { usage: { inputTokens: 100, outputTokens: 10, cachedInputTokens: 40 }, answered: true },
    { usage: undefined, answered: false },
  ]);
  expect(final?.data.usage).toEqual({ inputTokens: 100, outputTokens: 10, cachedInputTokens: 40 });
});

test("a gate that throws fails the call, and the turn with it", async () => {
  const h = await hostWith({
    id: "broken",
    enter: async () => {
      throw new Error("ledger offline");
    },
  });
  const { events } = await run(h, "hello");
  expect(events.at(-1)?.data).toMatchObject({ code: "stream_error" });
  expect(String(events.at(-1)?.data.error)).toContain(
    'the model call gate "broken" failed before the call: ledger offline',
  );
});

test("a cancelled call is settled too, without usage, once the stream is closed", async () => {
  const { gate, outcomes } = recordingGate();
  const h = await hostWith(gate);
  const conversationId = await h.newConversation();
  const { turnId } = await h.orchestrator.startTurn({ conversationId, text: "slow stream" });
  const sub = h.orchestrator.subscribe(conversationId, 0);
  for await (const event of sub) if (event.type === "text.delta") break;
  sub.close();
  await h.orchestrator.cancelTurn(conversationId);
  await h.untilFinal(conversationId, turnId);
  const deadline = Date.now() + 5000;
  while (outcomes.length === 0 && Date.now() < deadline) await Bun.sleep(10);
  expect(outcomes).toEqual([{ usage: undefined, answered: true }]);
});
