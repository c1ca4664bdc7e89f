import { afterAll, beforeAll, expect, test } from "bun:test";
import { type OrchestratorHost, startOrchestratorHost } from "./fixtures/orchestrator-host.ts";

// 1.6 MB of text with 1- to 4-byte characters: more than a stored message holds (1 MiB by default).
const reply = "añ€𝄞".repeat(160_000);

let h: OrchestratorHost;
beforeAll(async () => {
  h = await startOrchestratorHost({
    script: {
      replies: [{ when: "^long", steps: [{ text: reply, chunks: 64 }] }],
      fallback: { steps: [{ text: "ok" }] },
    },
  });
});
afterAll(async () => {
  await h.stop();
});

test("a reply over 1 MiB is stored cut with a marker, the turn completes and says so, and every byte is in the events", async () => {
  const conversationId = await h.newConversation();
  const { turnId } = await h.orchestrator.startTurn({ conversationId, text: "long please" });
  const events = await h.untilFinal(conversationId, turnId, 30_000);
  const final = events.at(-1);
  expect(final?.type).toBe("turn.completed");
  const max = h.store.messages.maxTextBytes;
  expect(final?.data.replyTruncated).toEqual([
    { bytes: Buffer.byteLength(reply), keptBytes: expect.any(Number) },
  ]);
  const streamed = events
    .filter((e) => e.type === "text.delta")
    .map((e) => String(e.data.text))
    .join("");
  expect(streamed).toBe(reply);
  const [, assistant] = await h.store.messages.list(conversationId);
  const stored = assistant?.parts[0]?.type === "text" ? assistant.parts[0].text : "";
  expect(Buffer.byteLength(stored)).toBeLessThanOrEqual(max);
  expect(stored).toContain("[reply truncated: the model wrote 1600000 bytes");
  expect(reply.startsWith(stored.slice(0, stored.indexOf("\n\n[reply truncated")))).toBe(true);
  expect((await h.store.turns.get(turnId))?.status).toBe("completed");
  // The conversation goes on: the next turn sees the stored history.
  const next = await h.orchestrator.startTurn({ conversationId, text: "thanks" });
  expect((await h.untilFinal(conversationId, next.turnId)).at(-1)?.type).toBe("turn.completed");
}, 60_000);
