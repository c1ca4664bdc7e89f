import { describe, expect, test } from "bun:test";
import { rejectionOf, type StoreHarness } from "./harness.ts";

/** The locks contract that the SQLite and the Postgres store both keep. */
export function locksContract(h: StoreHarness): void {
  async function setup() {
    const clock = { now: 10_000 };
    const temp = await h.open({ clock: () => clock.now });
    const { store } = temp;
    const a = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
    const b = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
    const ta = (await store.turns.claim({ conversationId: a.id, text: "a", promptStartedAt: 1 })).turn;
    const tb = (await store.turns.claim({ conversationId: b.id, text: "b", promptStartedAt: 1 })).turn;
    const lockFor = (conv: { id: string }, turn: { id: string }, path = "src/a.ts", ttlMs = 1_000) =>
      store.locks.acquire({ workspaceId: "default", path, conversationId: conv.id, turnId: turn.id, ttlMs });
    return { ...temp, clock, a, b, ta, tb, lockFor };
  }

  describe("locks", () => {
    test("acquire takes a free lock with owner, path, acquiredAt and expiresAt", async () => {
      const { a, ta, lockFor, store } = await setup();
      const result = await lockFor(a, ta);
      const lock = {
        workspaceId: "default",
        path: "src/a.ts",
        conversationId: a.id,
        turnId: ta.id,
        acquiredAt: 10_000,
        expiresAt: 11_000,
      };
      expect(result).toEqual({ ok: true, lock });
      expect(await store.locks.list("default")).toEqual([lock]);
    });

    test("another conversation's unexpired lock is refused by returning the holder", async () => {
      const { a, b, ta, tb, lockFor, clock } = await setup();
      await lockFor(a, ta);
      clock.now = 11_000; // expiresAt itself is still held
      const result = await lockFor(b, tb);
      expect(result).toEqual({
        ok: false,
        holder: {
          workspaceId: "default",
          path: "src/a.ts",
          conversationId: a.id,
          turnId: ta.id,
          acquiredAt: 10_000,
          expiresAt: 11_000,
        },
      });
      expect((await lockFor(b, tb, "src/other.ts")).ok).toBe(true);
    });

    test("the holder refreshes its own lock, keeping acquiredAt", async () => {
      const { a, ta, lockFor, clock } = await setup();
      await lockFor(a, ta);
      clock.now = 10_500;
      expect(await lockFor(a, ta, "src/a.ts", 5_000)).toMatchObject({
        ok: true,
        lock: { acquiredAt: 10_000, expiresAt: 15_500 },
      });
    });

    test("an expired lock is taken over", async () => {
      const { a, b, ta, tb, lockFor, clock } = await setup();
      await lockFor(a, ta);
      clock.now = 11_001;
      expect(await lockFor(b, tb)).toMatchObject({
        ok: true,
        lock: { conversationId: b.id, turnId: tb.id, acquiredAt: 11_001 },
      });
    });

    test("releaseTurn removes that turn's locks and says how many", async () => {
      const { a, b, ta, tb, lockFor, store } = await setup();
      await lockFor(a, ta, "1");
      await lockFor(a, ta, "2");
      await lockFor(b, tb, "3");
      expect(await store.locks.releaseTurn(ta.id)).toBe(2);
      expect(await store.locks.releaseTurn(ta.id)).toBe(0);
      expect((await store.locks.list("default")).map((l) => l.path)).toEqual(["3"]);
    });

    test("sweepExpired removes locks that expired before now", async () => {
      const { a, ta, lockFor, store } = await setup();
      await lockFor(a, ta, "short", 100);
      await lockFor(a, ta, "long", 5_000);
      expect(await store.locks.sweepExpired(10_100)).toBe(0);
      expect(await store.locks.sweepExpired(10_101)).toBe(1);
      expect((await store.locks.list("default")).map((l) => l.path)).toEqual(["long"]);
    });

    test("locks go with their turn's conversation", async () => {
      const { a, ta, lockFor, store, count } = await setup();
      await lockFor(a, ta);
      await store.turns.setStatus(ta.id, "completed");
      await store.workspaces.create({ id: "w", root: "/w" });
      const conv = await store.conversations.create({ workspaceId: "w", provider: "p", model: "m" });
      const t = (await store.turns.claim({ conversationId: conv.id, text: "x", promptStartedAt: 1 })).turn;
      await store.locks.acquire({
        workspaceId: "w",
        path: "x",
        conversationId: conv.id,
        turnId: t.id,
        ttlMs: 10,
      });
      await store.turns.setStatus(t.id, "completed");
      await store.workspaces.delete("w");
      expect((await store.locks.list("default")).length).toBe(1);
      expect(await count("locks")).toBe(1);
    });

    test("bad input is refused: ttl, path, a turn of another conversation or workspace", async () => {
      const { a, b, ta, tb, lockFor, store } = await setup();
      expect(await rejectionOf(lockFor(a, ta, "p", 0))).toMatchObject({
        code: "invalid_request",
        details: { field: "ttlMs" },
      });
      expect(await rejectionOf(lockFor(a, ta, ""))).toMatchObject({
        code: "invalid_request",
        details: { field: "path" },
      });
      expect(await rejectionOf(lockFor(a, tb))).toMatchObject({
        code: "invalid_request",
        details: { field: "turnId" },
      });
      expect((await rejectionOf(lockFor(a, { id: "t_missing" }))).code).toBe("not_found");
      await store.workspaces.create({ id: "w", root: "/w" });
      const wrongWorkspace = store.locks.acquire({
        workspaceId: "w",
        path: "p",
        conversationId: b.id,
        turnId: tb.id,
        ttlMs: 10,
      });
      expect(await rejectionOf(wrongWorkspace)).toMatchObject({
        code: "invalid_request",
        details: { field: "workspaceId" },
      });
      expect(await store.locks.list("default")).toEqual([]);
    });
  });
}
