import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { ConversationEvent } from "@dispatch/wire";
import {
  expectGapFree,
  type OrchestratorHost,
  startOrchestratorHost,
  waitFor,
  waitForEvent,
} from "./fixtures/orchestrator-host.ts";
import { echoTool, hangTool, sleepTool } from "./fixtures/test-tools.ts";

let h: OrchestratorHost;
const toolSignals: AbortSignal[] = [];

beforeAll(async () => {
  h = await startOrchestratorHost({ maxConcurrent: 1 });
  h.orchestrator.tools.register(echoTool);
  h.orchestrator.tools.register(hangTool);
  h.orchestrator.tools.register(sleepTool((signal) => toolSignals.push(signal)));
});
afterAll(async () => {
  await h.stop();
});

const types = (events: ConversationEvent[]) => events.map((e) => e.type);

async function start(text: string) {
  const conversationId = await h.newConversation();
  const { turnId } = await h.orchestrator.startTurn({ conversationId, text });
  return { conversationId, turnId };
}

describe("cancelTurn", () => {
  test("while waiting for a slot: the waiter leaves the queue and the slot holder carries on", async () => {
    const holder = await start("slow");
    await waitForEvent(h.orchestrator, holder.conversationId, (e) => e.type === "text.delta");
    const waiter = await start("hello");
    const queued = () => h.manager.snapshot()[0]?.queue.map((q) => q.turnId) ?? [];
    await waitFor(() => queued().length > 0);
    expect(queued()).toEqual([waiter.turnId]);

    expect(await h.orchestrator.cancelTurn(waiter.conversationId)).toEqual({
      turnId: waiter.turnId,
      status: "cancelled",
    });
    expect(queued()).toEqual([]);
    const events = await h.untilFinal(waiter.conversationId, waiter.turnId);
    expect(events[0]?.type).toBe("turn.started");
    expect(events.at(-1)?.type).toBe("turn.cancelled");
    expect(events.some((e) => e.type === "step.started")).toBe(false);

    const held = await h.untilFinal(holder.conversationId, holder.turnId);
    expect(held.at(-1)?.type).toBe("turn.completed");
    expect(h.manager.snapshot()[0]?.inFlight).toBe(0);
  });

  test("a queued turn records turn.waiting and status waiting while it is in the queue", async () => {
    const holder = await start("slow");
    await waitForEvent(h.orchestrator, holder.conversationId, (e) => e.type === "text.delta");
    const waiter = await start("hello");
    const waiting = await waitForEvent(
      h.orchestrator,
      waiter.conversationId,
      (e) => e.type === "turn.waiting",
    );
    expect(waiting.data).toMatchObject({ reason: "queue", step: 1, attempt: 1 });
    expect(h.manager.snapshot()[0]?.queue.map((q) => q.turnId)).toEqual([waiter.turnId]);
    expect((await h.store.turns.get(waiter.turnId))?.status).toBe("waiting");
    await h.orchestrator.cancelTurn(waiter.conversationId);
    await h.orchestrator.cancelTurn(holder.conversationId);
  });

  test("mid-stream: the stream stops, the text so far is kept, and the slot is released", async () => {
    const { conversationId, turnId } = await start("slow");
    await waitForEvent(h.orchestrator, conversationId, (e) => e.type === "text.delta");
    expect(h.manager.snapshot()[0]?.inFlight).toBe(1);
    expect(await h.orchestrator.cancelTurn(conversationId)).toEqual({ turnId, status: "cancelled" });
    expect(h.manager.snapshot()[0]?.inFlight).toBe(0);
    const events = await h.untilFinal(conversationId, turnId);
    expect(expectGapFree(events)).toBe(true);
    expect(events.at(-1)?.type).toBe("turn.cancelled");
    expect(events.at(-1)?.data).toMatchObject({
      reason: "cancelled by the user",
      memory: expect.any(Object),
    });
    const streamed = events
      .filter((e) => e.type === "text.delta")
      .map((e) => String(e.data.text))
      .join("");
    expect(streamed.length).toBeGreaterThan(0);
    expect(streamed.length).toBeLessThan(40);
    const messages = await h.store.messages.list(conversationId);
    expect(messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect(messages[1]?.parts).toEqual([{ type: "text", text: streamed }]);
    expect((await h.store.turns.get(turnId))?.status).toBe("cancelled");
  });

  test("mid-tool: the tool's signal fires, its result says so, and no slot is held meanwhile", async () => {
    const { conversationId, turnId } = await start("sleep");
    const before = toolSignals.length;
    await waitForEvent(h.orchestrator, conversationId, (e) => e.type === "tool.call");
    while (toolSignals.length === before) await Bun.sleep(2);
    // The slot was released when the model call ended, before the tool started.
    expect(h.manager.snapshot()[0]?.inFlight).toBe(0);
    expect(await h.orchestrator.cancelTurn(conversationId)).toEqual({ turnId, status: "cancelled" });
    expect(toolSignals.at(-1)?.aborted).toBe(true);
    const events = await h.untilFinal(conversationId, turnId);
    expect(types(events)).toEqual([
      "turn.started",
      "step.started",
      "tool.call",
      "tool.result",
      "turn.cancelled",
    ]);
    expect(events[3]?.data).toMatchObject({ toolName: "sleep", isError: true });
    expect(String(events[3]?.data.output)).toContain("the turn was cancelled");
    const roles = (await h.store.messages.list(conversationId)).map((m) => m.role);
    expect(roles).toEqual(["user", "assistant", "tool"]);
  });

  test("a tool that ignores its signal does not keep the cancel waiting", async () => {
    const { conversationId, turnId } = await start("hang");
    await waitForEvent(h.orchestrator, conversationId, (e) => e.type === "tool.call");
    expect(await h.orchestrator.cancelTurn(conversationId)).toEqual({ turnId, status: "cancelled" });
  });

  test("after a cancelled tool call the conversation takes a new turn, and the model sees a result for it", async () => {
    const { conversationId, turnId } = await start("sleep");
    await waitForEvent(h.orchestrator, conversationId, (e) => e.type === "tool.call");
    await h.orchestrator.cancelTurn(conversationId);
    const next = await h.orchestrator.startTurn({ conversationId, text: "hello again" });
    const events = await h.untilFinal(conversationId, next.turnId);
    expect(events.at(-1)?.type).toBe("turn.completed");
    expect(expectGapFree(events)).toBe(true);
    expect(events.filter((e) => e.turnId === turnId).at(-1)?.type).toBe("turn.cancelled");
  });

  test("an idle conversation answers idle; an unknown one is not_found", async () => {
    const conversationId = await h.newConversation();
    expect(await h.orchestrator.cancelTurn(conversationId)).toEqual({ turnId: null, status: "idle" });
    await expect(h.orchestrator.cancelTurn("c_nope")).rejects.toMatchObject({ code: "not_found" });
  });

  test("nothing leaks: no active turn, listener, deadline, queued waiter or held slot", () => {
    expect(h.orchestrator.getActiveConversationCount()).toBe(0);
    expect(h.orchestrator.stats).toEqual({
      liveListeners: 0,
      subscriptions: 0,
      pendingWrites: 0,
      deadlines: 0,
    });
    expect(h.manager.snapshot()[0]).toMatchObject({ inFlight: 0, queue: [] });
  });
});

describe("the turn deadline", () => {
  test("a turn past turnTimeoutMs fails with a clear message and its tool is stopped", async () => {
    const timed = await startOrchestratorHost({ defaults: { turnTimeoutMs: 300 } });
    try {
      const signals: AbortSignal[] = [];
      timed.orchestrator.tools.register(sleepTool((signal) => signals.push(signal)));
      const conversationId = await timed.newConversation();
      const { turnId } = await timed.orchestrator.startTurn({ conversationId, text: "sleep" });
      const events = await timed.untilFinal(conversationId, turnId);
      expect(events.at(-1)?.type).toBe("turn.failed");
      expect(events.at(-1)?.data).toMatchObject({
        code: "turn_timeout",
        error: "the turn exceeded its deadline of 300 ms",
      });
      expect(signals[0]?.aborted).toBe(true);
      expect(timed.orchestrator.stats.deadlines).toBe(0);
    } finally {
      await timed.stop();
    }
  });
});
