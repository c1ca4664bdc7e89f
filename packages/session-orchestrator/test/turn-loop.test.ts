import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { DispatchError } from "@dispatch/kernel";
import type { ConversationEvent } from "@dispatch/wire";
import { expectGapFree, type OrchestratorHost, startOrchestratorHost } from "./fixtures/orchestrator-host.ts";
import { echoTool, explodeTool, refuseTool } from "./fixtures/test-tools.ts";

let h: OrchestratorHost;
const finished: unknown[] = [];

beforeAll(async () => {
  h = await startOrchestratorHost();
  h.orchestrator.tools.register(echoTool);
  h.orchestrator.tools.register(explodeTool);
  h.orchestrator.tools.register(refuseTool);
  h.test.host.bus.subscribe("test", "turn.finished", (payload) => void finished.push(payload));
});
afterAll(async () => {
  await h.stop();
});
// Every test awaits its turns' final events, so after each one nothing may be left: checked after every
// test rather than in a last test, which would prove nothing when run alone or in another order.
afterEach(() => expectNothingLeft());

/** No active turn, listener, subscription, pending write, deadline or provider slot is left. */
function expectNothingLeft(): void {
  expect(h.orchestrator.getActiveConversationCount()).toBe(0);
  expect(h.orchestrator.stats).toEqual({
    liveListeners: 0,
    subscriptions: 0,
    pendingWrites: 0,
    deadlines: 0,
  });
  const [snapshot] = h.manager.snapshot();
  expect(snapshot?.inFlight).toBe(0);
  expect(snapshot?.queue).toEqual([]);
}

const types = (events: ConversationEvent[]) => events.map((e) => e.type);
const ofType = (events: ConversationEvent[], type: string) => events.filter((e) => e.type === type);

async function runTurn(text: string) {
  const conversationId = await h.newConversation();
  const { turnId, messageId } = await h.orchestrator.startTurn({ conversationId, text });
  const events = await h.untilFinal(conversationId, turnId);
  return { conversationId, turnId, messageId, events };
}

describe("a single-step turn", () => {
  test("records started, step, coalesced text and completed, with memory before and after", async () => {
    const { conversationId, turnId, messageId, events } = await runTurn("hello");
    expect(types(events)).toEqual(["turn.started", "step.started", "text.delta", "turn.completed"]);
    expect(expectGapFree(events)).toBe(true);
    expect(events.every((e) => e.turnId === turnId)).toBe(true);
    const [started, step, text, done] = events;
    expect(started?.data).toMatchObject({ provider: "scripted", model: "demo" });
    expect(started?.data.memory).toEqual({ rssBytes: expect.any(Number), heapUsedBytes: expect.any(Number) });
    expect(step?.data).toEqual({ step: 1, attempt: 1 });
    expect(text?.data).toEqual({ text: "Hello from the script." });
    expect(done?.data).toMatchObject({
      finishReason: "stop",
      steps: 1,
      memory: { rssBytes: expect.any(Number) },
    });
    expect((await h.store.turns.get(turnId))?.status).toBe("completed");
    const messages = await h.store.messages.list(conversationId);
    expect(messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(messages[0]?.id).toBe(messageId);
    expect(messages[1]?.parts).toEqual([{ type: "text", text: "Hello from the script." }]);
    expect(finished).toContainEqual({ turnId, conversationId, workspaceId: "default", status: "completed" });
    expect(h.orchestrator.getActiveConversationCount()).toBe(0);
  });

  test("a long fast stream is coalesced into a few events of at most coalesceBytes, losing nothing", async () => {
    const { events } = await runTurn("long");
    const deltas = ofType(events, "text.delta");
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.length).toBeLessThan(10); // the script sends 100 chunks
    const text = deltas.map((e) => String(e.data.text)).join("");
    expect(text).toBe("y".repeat(10_000));
    for (const e of deltas) expect(Buffer.byteLength(String(e.data.text))).toBeLessThanOrEqual(4096 + 100);
  });
});

describe("publishing", () => {
  test("every event is in the store by the time it is published on the bus, and published in seq order", async () => {
    const checks: Array<Promise<boolean>> = [];
    const published: number[] = [];
    let watched = "";
    const off = h.test.host.bus.subscribe("test", "conversation.event", ({ conversationId, event }) => {
      if (conversationId !== watched) return;
      published.push(event.seq);
      checks.push(
        h.store.events
          .listAfter(conversationId, event.seq - 1, 1)
          .then(([stored]) => stored?.seq === event.seq),
      );
    });
    try {
      watched = await h.newConversation();
      const { turnId } = await h.orchestrator.startTurn({ conversationId: watched, text: "multi-step" });
      await h.untilFinal(watched, turnId);
    } finally {
      off();
    }
    expect(published).toEqual(published.map((_, i) => i + 1));
    expect(published.length).toBe(10);
    expect(await Promise.all(checks)).toEqual(published.map(() => true));
  });

  test("metrics count finished turns by status and show active turns", async () => {
    await runTurn("hello");
    const text = await h.test.host.metrics.metrics();
    expect(text).toMatch(/dispatch_turns_finished_total\{status="completed"\} [1-9]/);
    expect(text).toContain("dispatch_active_turns 0");
  });
});

describe("the tool loop", () => {
  test("runs requested tools between model calls and feeds their results back", async () => {
    const { conversationId, turnId, events } = await runTurn("multi-step please");
    expect(types(events)).toEqual([
      "turn.started",
      "step.started",
      "tool.call",
      "tool.result",
      "step.started",
      "tool.call",
      "tool.result",
      "step.started",
      "text.delta",
      "turn.completed",
    ]);
    expect(expectGapFree(events)).toBe(true);
    const calls = ofType(events, "tool.call");
    const results = ofType(events, "tool.result");
    expect(calls[0]?.data).toMatchObject({ toolName: "echo", input: { text: "one" } });
    expect(results[0]?.data).toMatchObject({
      toolCallId: calls[0]?.data.toolCallId,
      toolName: "echo",
      output: "echo: one",
      isError: false,
    });
    expect(ofType(events, "step.started").map((e) => e.data.step)).toEqual([1, 2, 3]);
    expect(events.at(-1)?.data).toMatchObject({ steps: 3 });
    const messages = await h.store.messages.list(conversationId);
    expect(messages.map((m) => m.role)).toEqual([
      "user",
      "assistant",
      "tool",
      "assistant",
      "tool",
      "assistant",
    ]);
    expect(messages[2]?.parts[0]).toMatchObject({ type: "tool-result", output: "echo: one", isError: false });
    expect(messages.every((m) => m.turnId === turnId)).toBe(true);
  });

  test("invalid input goes back to the model as an error result with zod's message", async () => {
    const { events } = await runTurn("bad-input");
    const [result] = ofType(events, "tool.result");
    expect(result?.data.isError).toBe(true);
    expect(String(result?.data.output)).toContain('Invalid input for tool "echo"');
    expect(String(result?.data.output)).toContain("wrong");
    expect(events.at(-1)?.type).toBe("turn.completed");
  });

  test("an unknown tool is an error result naming the tools that exist", async () => {
    const { events } = await runTurn("unknown-tool");
    const [result] = ofType(events, "tool.result");
    expect(result?.data).toMatchObject({ toolName: "nope", isError: true });
    expect(String(result?.data.output)).toContain(
      'Unknown tool "nope". Available tools: echo, explode, refuse',
    );
    expect(events.at(-1)?.type).toBe("turn.completed");
  });

  test("a throwing tool and a tool's own error result both reach the model with isError", async () => {
    const { conversationId, events } = await runTurn("explode");
    const results = ofType(events, "tool.result");
    expect(results.map((r) => [r.data.toolName, r.data.isError])).toEqual([
      ["explode", true],
      ["refuse", true],
    ]);
    expect(String(results[0]?.data.output)).toContain("kaboom");
    expect(results[1]?.data.output).toBe("permission denied");
    const tool = (await h.store.messages.list(conversationId)).filter((m) => m.role === "tool");
    expect(tool.map((m) => m.parts[0])).toMatchObject([{ isError: true }, { isError: true }]);
  });

  test("a model error fails the turn with the provider's message", async () => {
    const { turnId, events } = await runTurn("refused");
    const last = events.at(-1);
    expect(last?.type).toBe("turn.failed");
    expect(String(last?.data.error)).toContain("your request is malformed");
    const turn = await h.store.turns.get(turnId);
    expect(turn?.status).toBe("failed");
    expect(turn?.error).toContain("your request is malformed");
  });

  test("a later turn in the same conversation sees the earlier messages", async () => {
    const { conversationId } = await runTurn("multi-step");
    const { turnId } = await h.orchestrator.startTurn({ conversationId, text: "thanks" });
    const events = await h.untilFinal(conversationId, turnId);
    // Both turns share one log: the second turn's events follow the first's, gap-free.
    expect(expectGapFree(events)).toBe(true);
    expect(events.at(-1)?.type).toBe("turn.completed");
    const roles = (await h.store.messages.list(conversationId)).map((m) => m.role);
    expect(roles.slice(-2)).toEqual(["user", "assistant"]);
    expect(roles.length).toBe(8);
  });
});

describe("startTurn", () => {
  test("50 concurrent starts on one conversation: exactly one wins, the rest get conversation_busy", async () => {
    const conversationId = await h.newConversation();
    const attempts = await Promise.allSettled(
      Array.from({ length: 50 }, () => h.orchestrator.startTurn({ conversationId, text: "hello" })),
    );
    const won = attempts.filter((a) => a.status === "fulfilled");
    const lost = attempts.filter((a): a is PromiseRejectedResult => a.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(49);
    for (const a of lost) {
      expect(DispatchError.isInstance(a.reason)).toBe(true);
      expect((a.reason as DispatchError).code).toBe("conversation_busy");
    }
    const { turnId } = (won[0] as PromiseFulfilledResult<{ turnId: string }>).value;
    await h.untilFinal(conversationId, turnId);
  });

  test("claims made in one loop turn: one that fails takes none of the others with it", async () => {
    const busyId = await h.newConversation();
    const running = await h.orchestrator.startTurn({ conversationId: busyId, text: "hello" });
    const ids = await Promise.all(Array.from({ length: 5 }, () => h.newConversation()));
    const starts = await Promise.allSettled([
      ...ids.map((conversationId) => h.orchestrator.startTurn({ conversationId, text: "hello" })),
      h.orchestrator.startTurn({ conversationId: busyId, text: "again" }),
    ]);
    expect(starts.at(-1)).toMatchObject({ status: "rejected", reason: { code: "conversation_busy" } });
    for (const [i, conversationId] of ids.entries()) {
      const start = starts[i] as PromiseFulfilledResult<{ turnId: string }>;
      expect(start.status).toBe("fulfilled");
      const events = await h.untilFinal(conversationId, start.value.turnId);
      expect(events.at(-1)?.type).toBe("turn.completed");
    }
    await h.untilFinal(busyId, running.turnId);
  });

  test("refuses an unknown conversation with not_found and empty text with invalid_request", async () => {
    const missing = h.orchestrator.startTurn({ conversationId: "c_missing", text: "hi" });
    await expect(missing).rejects.toMatchObject({ code: "not_found" });
    const conversationId = await h.newConversation();
    await expect(h.orchestrator.startTurn({ conversationId, text: "" })).rejects.toMatchObject({
      code: "invalid_request",
    });
    expect(await h.store.turns.active(conversationId)).toBeUndefined();
  });
});

describe("subscriptions", () => {
  test("a subscriber from afterSeq gets the rest of the log, then live events, and close() leaves nothing", async () => {
    const { conversationId, events } = await runTurn("hello");
    const subscription = h.orchestrator.subscribe(conversationId, 2);
    const iterator = subscription[Symbol.asyncIterator]();
    const replayed = [await iterator.next(), await iterator.next()].map((r) => r.value?.seq);
    expect(replayed).toEqual([3, 4]);
    const { turnId } = await h.orchestrator.startTurn({ conversationId, text: "again" });
    const live: number[] = [];
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      live.push(next.value.seq);
      if (next.value.turnId === turnId && next.value.type === "turn.completed") break;
    }
    expect(live).toEqual([5, 6, 7, 8]);
    expect(events).toHaveLength(4);
    subscription.close();
    expect(h.orchestrator.stats.liveListeners).toBe(0);
    expect(h.orchestrator.stats.subscriptions).toBe(0);
  });
});
