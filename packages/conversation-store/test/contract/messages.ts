import { describe, expect, test } from "bun:test";
import type { MessagePart } from "@dispatch/wire";
import { type HarnessOptions, rejectionOf, type StoreHarness } from "./harness.ts";

/** The messages contract that the SQLite and the Postgres store both keep. */
export function messagesContract(h: StoreHarness): void {
  async function setup(options: HarnessOptions = {}) {
    const temp = await h.open(options);
    const conv = await temp.store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
    const { turn } = await temp.store.turns.claim({
      conversationId: conv.id,
      text: "hi",
      promptStartedAt: 1,
    });
    return { ...temp, conv, turn };
  }

  describe("messages", () => {
    test("append stores every part kind and list returns messages in insertion order", async () => {
      const { store, conv, turn } = await setup();
      const parts: MessagePart[] = [
        { type: "text", text: "let me look" },
        { type: "tool-call", toolCallId: "call1", toolName: "read_file", input: { path: "a.txt" } },
      ];
      const assistant = await store.messages.append({
        conversationId: conv.id,
        turnId: turn.id,
        role: "assistant",
        parts,
      });
      const tool = await store.messages.append({
        conversationId: conv.id,
        turnId: turn.id,
        role: "tool",
        parts: [
          {
            type: "tool-result",
            toolCallId: "call1",
            toolName: "read_file",
            output: "hello",
            isError: false,
          },
        ],
      });
      const listed = await store.messages.list(conv.id);
      expect(listed.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
      expect(listed[1]).toEqual(assistant);
      expect(listed[2]).toEqual(tool);
      expect(assistant.parts).toEqual(parts);
    });

    test("a message without a turn is allowed", async () => {
      const { store, conv } = await setup();
      const m = await store.messages.append({
        conversationId: conv.id,
        turnId: null,
        role: "assistant",
        parts: [],
      });
      expect(m.turnId).toBeNull();
    });

    test("invalid parts and roles are invalid_request naming the field", async () => {
      const { store, conv, turn } = await setup();
      const badParts = await rejectionOf(
        store.messages.append({
          conversationId: conv.id,
          turnId: turn.id,
          role: "assistant",
          parts: [{ type: "text", text: 5 } as unknown as MessagePart],
        }),
      );
      expect(badParts).toMatchObject({ code: "invalid_request", details: { field: "parts" } });
      expect(badParts.message).toContain("parts[0].text");
      const badRole = await rejectionOf(
        store.messages.append({ conversationId: conv.id, turnId: null, role: "system" as "user", parts: [] }),
      );
      expect(badRole).toMatchObject({ code: "invalid_request", details: { field: "role" } });
      expect((await store.messages.list(conv.id)).length).toBe(1);
    });

    test("text parts together are held to maxMessageBytes", async () => {
      const { store, conv } = await setup({ maxMessageBytes: 8 });
      const error = await rejectionOf(
        store.messages.append({
          conversationId: conv.id,
          turnId: null,
          role: "assistant",
          parts: [
            { type: "text", text: "12345" },
            { type: "text", text: "6789" },
          ],
        }),
      );
      expect(error).toMatchObject({ code: "invalid_request", details: { field: "parts", limit: 8 } });
    });

    test("unknown conversation or turn is not_found; another conversation's turn is refused", async () => {
      const { store, conv } = await setup();
      const other = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
      const otherTurn = await store.turns.claim({ conversationId: other.id, text: "x", promptStartedAt: 1 });
      const append = (conversationId: string, turnId: string | null) =>
        store.messages.append({ conversationId, turnId, role: "assistant", parts: [] });
      expect((await rejectionOf(append("c_missing", null))).code).toBe("not_found");
      expect((await rejectionOf(append(conv.id, "t_missing"))).code).toBe("not_found");
      expect(await rejectionOf(append(conv.id, otherTurn.turn.id))).toMatchObject({
        code: "invalid_request",
        details: { field: "turnId" },
      });
      expect((await rejectionOf(store.messages.list("c_missing"))).code).toBe("not_found");
    });
  });

  describe("message order", () => {
    test("a follow-up's message comes after the answer stored before it in the same millisecond", async () => {
      // one frozen millisecond: only the insertion order can tell these messages apart
      const { store, conv, turn } = await setup({ clock: () => 1_000 });
      const followup = await store.followups.enqueue({ conversationId: conv.id, text: "next" });
      await store.messages.append({
        conversationId: conv.id,
        turnId: turn.id,
        role: "assistant",
        parts: [{ type: "text", text: "answer" }],
      });
      await store.turns.setStatus(turn.id, "completed");
      await store.turns.claim({
        conversationId: conv.id,
        text: "next",
        promptStartedAt: 1,
        followupId: followup.id,
      });
      const listed = await store.messages.list(conv.id);
      expect(listed.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
      expect(listed[2]?.id).toBe(followup.id);
    });
  });
}
