import { afterAll, beforeAll, expect, test } from "bun:test";
import type { ConversationEvent } from "@dispatch/wire";
import { type OrchestratorHost, startOrchestratorHost } from "./fixtures/orchestrator-host.ts";
import { echoTool } from "./fixtures/test-tools.ts";

const same = { tool: "echo", input: { text: "again" } };
const script = {
  replies: [
    { when: "^repeat", steps: Array.from({ length: 8 }, () => same) },
    {
      when: "^recover",
      steps: [same, same, same, { tool: "echo", input: { text: "else" } }, { text: "done" }],
    },
  ],
  fallback: { steps: [{ text: "hi" }] },
};

let h: OrchestratorHost;
beforeAll(async () => {
  h = await startOrchestratorHost({ script, defaults: { loopGuard: { repeats: 3 } } });
  h.orchestrator.tools.register(echoTool);
});
afterAll(async () => {
  await h.stop();
});

async function run(text: string) {
  const conversationId = await h.newConversation();
  const { turnId } = await h.orchestrator.startTurn({ conversationId, text });
  return { conversationId, events: await h.untilFinal(conversationId, turnId) };
}
const results = (events: ConversationEvent[]) =>
  events.filter((e) => e.type === "tool.result").map((e) => e.data as { output: string; isError: boolean });

test("a model repeating one tool call gets tool errors from the repeats-th call and the turn fails loop_detected at twice that", async () => {
  const { conversationId, events } = await run("repeat forever");
  const answered = results(events);
  expect(answered.map((r) => r.isError)).toEqual([false, false, true, true, true, true]);
  expect(answered[0]?.output).toBe("echo: again");
  expect(answered[2]?.output).toContain('Loop guard: this is call 3 in a row of "echo"');
  const final = events.at(-1);
  expect(final?.type).toBe("turn.failed");
  expect(final?.data).toMatchObject({ code: "loop_detected", steps: 6 });
  expect(String(final?.data.error)).toContain('"echo" with the same input 6 times in a row');
  // every call in the history has its result, so the next turn's prompt is valid
  const stored = await h.store.messages.list(conversationId);
  const calls = stored.flatMap((m) => m.parts.filter((p) => p.type === "tool-call"));
  const answers = stored.flatMap((m) => m.parts.filter((p) => p.type === "tool-result"));
  expect(answers).toHaveLength(calls.length);
});

test("a refused repeat followed by a different call carries on and completes", async () => {
  const { events } = await run("recover");
  expect(results(events).map((r) => r.isError)).toEqual([false, false, true, false]);
  expect(events.at(-1)?.type).toBe("turn.completed");
});
