import { describe, expect, test } from "bun:test";
import { limits } from "@dispatch/wire";
import { rejectionOf, type StoreHarness } from "./harness.ts";

/** The conversations contract that the SQLite and the Postgres store both keep. */
export function conversationsContract(h: StoreHarness): void {
  describe("conversations", () => {
    test("create returns an idle conversation with a generated id", async () => {
      const { store } = await h.open();
      const conv = await store.conversations.create({
        workspaceId: "default",
        title: "t",
        provider: "p",
        model: "m",
      });
      expect(conv.id).toMatch(/^c_[0-9a-f-]{36}$/);
      expect(conv).toMatchObject({
        workspaceId: "default",
        title: "t",
        provider: "p",
        model: "m",
        status: "idle",
        activeTurnId: null,
      });
      expect(await store.conversations.get(conv.id)).toEqual(conv);
      expect(await store.conversations.get("c_missing")).toBeUndefined();
    });

    test("status is the latest turn's status and activeTurnId the unfinished turn, derived from the turns", async () => {
      const { store } = await h.open();
      const conv = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
      const { turn } = await store.turns.claim({ conversationId: conv.id, text: "one", promptStartedAt: 1 });
      expect(await store.conversations.get(conv.id)).toMatchObject({
        status: "queued",
        activeTurnId: turn.id,
      });
      await store.turns.setStatus(turn.id, "running");
      expect(await store.conversations.get(conv.id)).toMatchObject({
        status: "running",
        activeTurnId: turn.id,
      });
      await store.turns.setStatus(turn.id, "failed", "model error");
      expect(await store.conversations.get(conv.id)).toMatchObject({ status: "failed", activeTurnId: null });
      const second = await store.turns.claim({ conversationId: conv.id, text: "two", promptStartedAt: 2 });
      await store.turns.setStatus(second.turn.id, "completed");
      const listed = await store.conversations.listByWorkspace("default");
      expect(listed.map((c) => [c.id, c.status, c.activeTurnId])).toEqual([[conv.id, "completed", null]]);
    });

    test("listByWorkspace is newest first and only that workspace's; a missing workspace is not_found", async () => {
      let now = 1_000;
      const { store } = await h.open({ clock: () => now++ });
      await store.workspaces.create({ id: "other", root: "/o" });
      const a = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
      const b = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
      await store.conversations.create({ workspaceId: "other", provider: "p", model: "m" });
      expect((await store.conversations.listByWorkspace("default")).map((c) => c.id)).toEqual([b.id, a.id]);
      expect((await rejectionOf(store.conversations.listByWorkspace("nope"))).code).toBe("not_found");
    });

    test("create in a missing workspace is not_found", async () => {
      const { store } = await h.open();
      const error = await rejectionOf(
        store.conversations.create({ workspaceId: "nope", provider: "p", model: "m" }),
      );
      expect(error.code).toBe("not_found");
      expect(error.message).toBe('workspace "nope" does not exist');
    });

    const invalid: Array<[string, { title?: string | null; provider: string; model: string }]> = [
      ["title", { title: "t".repeat(limits.conversationTitle + 1), provider: "p", model: "m" }],
      ["provider", { provider: "", model: "m" }],
      ["model", { provider: "p", model: "" }],
      ["model", { provider: "p", model: "m".repeat(limits.modelName + 1) }],
    ];
    for (const [field, input] of invalid) {
      test(`an invalid ${field} is invalid_request naming the field`, async () => {
        const { store } = await h.open();
        const error = await rejectionOf(store.conversations.create({ workspaceId: "default", ...input }));
        expect(error.code).toBe("invalid_request");
        expect(error.details?.field).toBe(field);
        expect(await store.conversations.listByWorkspace("default")).toEqual([]);
      });
    }
  });
}
