import { describe, expect, test } from "bun:test";
import { finalTurnStatuses, TurnStatus } from "@dispatch/wire";
import { maxTurnErrorLength } from "../../src/turn-repository.ts";
import { unfinishedStatuses } from "../../src/turn-status.ts";
import { type HarnessOptions, rejectionOf, type StoreHarness } from "./harness.ts";

/** The turns contract that the SQLite and the Postgres store both keep. */
export function turnsContract(h: StoreHarness): void {
  async function withConversation(options: HarnessOptions = {}) {
    const temp = await h.open(options);
    const conv = await temp.store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
    return { ...temp, conv };
  }

  describe("turns.claim", () => {
    test("inserts a queued turn and the user's text message in one step", async () => {
      const { store, conv } = await withConversation();
      const { turn, message } = await store.turns.claim({
        conversationId: conv.id,
        text: "hello",
        promptStartedAt: 42,
      });
      expect(turn).toMatchObject({
        conversationId: conv.id,
        status: "queued",
        promptStartedAt: 42,
        error: null,
      });
      expect(turn.id).toMatch(/^t_/);
      expect(message).toMatchObject({
        conversationId: conv.id,
        turnId: turn.id,
        role: "user",
        parts: [{ type: "text", text: "hello" }],
      });
      expect(message.id).toMatch(/^m_/);
      expect(await store.messages.list(conv.id)).toEqual([message]);
      expect(await store.turns.get(turn.id)).toEqual(turn);
      expect(await store.turns.active(conv.id)).toEqual(turn);
    });

    test("a second claim while a turn is unfinished is conversation_busy, and stores nothing", async () => {
      const { store, conv } = await withConversation();
      const first = await store.turns.claim({ conversationId: conv.id, text: "a", promptStartedAt: 1 });
      for (const status of unfinishedStatuses) {
        if (status !== "queued") await store.turns.setStatus(first.turn.id, status);
        const error = await rejectionOf(
          store.turns.claim({ conversationId: conv.id, text: "b", promptStartedAt: 2 }),
        );
        expect(error.code).toBe("conversation_busy");
        expect(error.details).toMatchObject({ conversationId: conv.id, activeTurnId: first.turn.id });
      }
      expect((await store.messages.list(conv.id)).length).toBe(1);
    });

    test("concurrent claims: exactly one wins", async () => {
      const { store, conv } = await withConversation();
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          store.turns.claim({ conversationId: conv.id, text: `${i}`, promptStartedAt: i }),
        ),
      );
      expect(results.filter((r) => r.status === "fulfilled").length).toBe(1);
      const codes = results.flatMap((r) =>
        r.status === "rejected" ? [(r.reason as { code: string }).code] : [],
      );
      expect(codes).toEqual(Array(19).fill("conversation_busy"));
    });

    test("after the turn is final, the conversation takes a new claim", async () => {
      const { store, conv } = await withConversation();
      const first = await store.turns.claim({ conversationId: conv.id, text: "a", promptStartedAt: 1 });
      await store.turns.setStatus(first.turn.id, "cancelled");
      const second = await store.turns.claim({ conversationId: conv.id, text: "b", promptStartedAt: 2 });
      expect(second.turn.id).not.toBe(first.turn.id);
    });

    test("text must be non-empty and within maxMessageBytes, counted in UTF-8 bytes", async () => {
      const { store, conv } = await withConversation({ maxMessageBytes: 10 });
      const empty = await rejectionOf(
        store.turns.claim({ conversationId: conv.id, text: "", promptStartedAt: 1 }),
      );
      expect(empty).toMatchObject({ code: "invalid_request", details: { field: "text" } });
      // Four characters, twelve bytes.
      const wide = await rejectionOf(
        store.turns.claim({ conversationId: conv.id, text: "€€€€", promptStartedAt: 1 }),
      );
      expect(wide).toMatchObject({ code: "invalid_request", details: { field: "text", limit: 10 } });
      expect(wide.message).toContain("12");
      expect(await store.turns.active(conv.id)).toBeUndefined();
      const ok = await store.turns.claim({ conversationId: conv.id, text: "€€€a", promptStartedAt: 1 });
      expect(ok.message.parts).toEqual([{ type: "text", text: "€€€a" }]);
    });

    test("the default limit is 1 MiB", async () => {
      const { store, conv } = await withConversation();
      const over = await rejectionOf(
        store.turns.claim({ conversationId: conv.id, text: "x".repeat(1024 * 1024 + 1), promptStartedAt: 1 }),
      );
      expect(over.details).toMatchObject({ field: "text", limit: 1024 * 1024 });
      await store.turns.claim({ conversationId: conv.id, text: "x".repeat(1024 * 1024), promptStartedAt: 1 });
    });

    test("refuseIfQueued: conversation_busy while follow-ups are queued, and stores nothing", async () => {
      const { store, conv } = await withConversation();
      const followup = await store.followups.enqueue({ conversationId: conv.id, text: "first" });
      const claim = () =>
        store.turns.claim({
          conversationId: conv.id,
          text: "second",
          promptStartedAt: 1,
          refuseIfQueued: true,
        });
      expect(await rejectionOf(claim())).toMatchObject({
        code: "conversation_busy",
        details: { conversationId: conv.id, queued: true },
      });
      expect(await store.turns.active(conv.id)).toBeUndefined();
      expect(await store.messages.list(conv.id)).toEqual([]);
      // the follow-up itself starts (it is the one queued), then the queue is empty again
      await store.turns.claim({
        conversationId: conv.id,
        text: "first",
        promptStartedAt: 1,
        followupId: followup.id,
      });
      const active = await store.turns.active(conv.id);
      await store.turns.setStatus(active?.id as string, "completed");
      expect((await claim()).message.parts).toEqual([{ type: "text", text: "second" }]);
    });

    test("a missing conversation is not_found", async () => {
      const { store } = await h.open();
      expect(
        (await rejectionOf(store.turns.claim({ conversationId: "c_x", text: "a", promptStartedAt: 1 }))).code,
      ).toBe("not_found");
    });
  });

  describe("turns.setStatus", () => {
    test("moves between unfinished statuses and into a final one, recording the error", async () => {
      let now = 1_000;
      const { store, conv } = await withConversation({ clock: () => now });
      const { turn } = await store.turns.claim({ conversationId: conv.id, text: "a", promptStartedAt: 1 });
      now = 2_000;
      for (const status of ["waiting", "running", "waiting", "running"] as const) {
        expect((await store.turns.setStatus(turn.id, status)).status).toBe(status);
      }
      const failed = await store.turns.setStatus(turn.id, "failed", "provider said no");
      expect(failed).toMatchObject({
        status: "failed",
        error: "provider said no",
        updatedAt: new Date(2_000).toISOString(),
      });
    });

    test("nothing leaves a final state", async () => {
      const { store, conv } = await withConversation();
      for (const final of finalTurnStatuses) {
        const { turn } = await store.turns.claim({
          conversationId: conv.id,
          text: final,
          promptStartedAt: 1,
        });
        await store.turns.setStatus(turn.id, final);
        for (const next of TurnStatus.options) {
          const error = await rejectionOf(store.turns.setStatus(turn.id, next));
          expect(error.code).toBe("invalid_transition");
          expect(error.details).toEqual({ turnId: turn.id, from: final, to: next });
        }
        expect((await store.turns.get(turn.id))?.status).toBe(final);
      }
    });

    test("an unknown status is invalid_request; an unknown turn is not_found", async () => {
      const { store, conv } = await withConversation();
      const { turn } = await store.turns.claim({ conversationId: conv.id, text: "a", promptStartedAt: 1 });
      const bad = await rejectionOf(store.turns.setStatus(turn.id, "done" as TurnStatus));
      expect(bad).toMatchObject({ code: "invalid_request", details: { field: "status" } });
      expect((await rejectionOf(store.turns.setStatus("t_missing", "running"))).code).toBe("not_found");
    });

    test("a very long error is kept, cut to a bounded length", async () => {
      const { store, conv } = await withConversation();
      const { turn } = await store.turns.claim({ conversationId: conv.id, text: "a", promptStartedAt: 1 });
      const done = await store.turns.setStatus(turn.id, "failed", "e".repeat(maxTurnErrorLength * 2));
      expect(done.error?.startsWith("e".repeat(maxTurnErrorLength))).toBe(true);
      expect(done.error?.endsWith("(truncated)")).toBe(true);
    });

    test("listUnfinished lists every queued, waiting or running turn across conversations, oldest first", async () => {
      let now = 1_000;
      const { store, conv } = await withConversation({ clock: () => now++ });
      const other = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
      const third = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
      const a = await store.turns.claim({ conversationId: conv.id, text: "a", promptStartedAt: 1 });
      const b = await store.turns.claim({ conversationId: other.id, text: "b", promptStartedAt: 1 });
      const c = await store.turns.claim({ conversationId: third.id, text: "c", promptStartedAt: 1 });
      await store.turns.setStatus(b.turn.id, "running");
      await store.turns.setStatus(c.turn.id, "completed");
      expect((await store.turns.listUnfinished()).map((t) => t.id)).toEqual([a.turn.id, b.turn.id]);
    });
  });
}
