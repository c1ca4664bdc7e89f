import { describe, expect, test } from "bun:test";
import type { Page, PageRequest } from "../../src/types.ts";
import { rejectionOf, type StoreHarness } from "./harness.ts";

/** Reads every page of a list, calling `between` after each one; returns the ids in the order read. */
async function walk<T extends { id: string }>(
  read: (request: PageRequest) => Promise<Page<T>>,
  limit: number,
  between: (pageIndex: number) => Promise<void> = async () => {},
): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let index = 0; ; index++) {
    const page = await read({ limit, cursor });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    ids.push(...page.items.map((item) => item.id));
    if (page.nextCursor === null) return ids;
    cursor = page.nextCursor;
    await between(index);
  }
}

/** A clock that moves only when told: many rows share a millisecond, so ties are broken by id. */
function steppedClock() {
  let now = Date.UTC(2026, 0, 1);
  return {
    clock: () => now,
    tick: () => {
      now += 1;
    },
  };
}

/** The paging contract (keyset cursors) that the SQLite and the Postgres store both keep. */
export function paginationContract(h: StoreHarness): void {
  describe("workspaces", () => {
    test("pages follow list(): starred first, then by name case-insensitively, then id", async () => {
      const { store } = await h.open();
      const names = ["delta", "Alpha", "charlie", "alpha", "Bravo", "echo", "ALPHA", "bravo"];
      for (const [i, name] of names.entries())
        await store.workspaces.create({ id: `w${i}`, name, root: "/r" });
      await store.workspaces.star("w4");
      await store.workspaces.star("w0");
      const all = (await store.workspaces.list()).map((w) => w.id);
      for (const limit of [1, 2, 3, 9, 50]) {
        expect(await walk((r) => store.workspaces.page(r), limit)).toEqual(all);
      }
      expect(all.slice(0, 2)).toEqual(["w4", "w0"]);
    });

    test("workspaces created while a client pages are never seen twice, and none that existed is missed", async () => {
      const { store } = await h.open();
      for (let i = 0; i < 30; i++)
        await store.workspaces.create({ id: `ws-${i}`, name: `n${i}`, root: "/r" });
      const before = (await store.workspaces.list()).map((w) => w.id);
      let extra = 0;
      const seen = await walk(
        (r) => store.workspaces.page(r),
        4,
        async () => {
          // One sorting before everything, one after everything, one in the middle.
          for (const name of ["a", "zzz", "n15x"]) {
            await store.workspaces.create({ id: `new-${extra++}`, name, root: "/r" });
          }
        },
      );
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((id) => before.includes(id))).toEqual(before);
    });
  });

  describe("conversations", () => {
    test("pages run newest first, ties broken by id; new conversations during the walk are not seen twice", async () => {
      const { clock, tick } = steppedClock();
      const { store } = await h.open({ clock });
      for (let i = 0; i < 25; i++) {
        await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
        if (i % 3 === 0) tick();
      }
      const all = (await store.conversations.listByWorkspace("default")).map((c) => c.id);
      expect(await walk((r) => store.conversations.pageByWorkspace("default", r), 4)).toEqual(all);
      const seen = await walk(
        (r) => store.conversations.pageByWorkspace("default", r),
        4,
        async () => {
          await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
        },
      );
      expect(seen).toEqual(all);
      expect((await rejectionOf(store.conversations.pageByWorkspace("nope", { limit: 5 }))).code).toBe(
        "not_found",
      );
    });
  });

  describe("messages", () => {
    test("pages run oldest first, ties broken by id; messages appended during the walk come at the end, once", async () => {
      const { clock, tick } = steppedClock();
      const { store } = await h.open({ clock });
      const conv = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
      const append = (text: string) =>
        store.messages.append({
          conversationId: conv.id,
          turnId: null,
          role: "user",
          parts: [{ type: "text", text }],
        });
      for (let i = 0; i < 20; i++) {
        await append(`m${i}`);
        if (i % 4 === 0) tick();
      }
      const all = (await store.messages.list(conv.id)).map((m) => m.id);
      expect(await walk((r) => store.messages.page(conv.id, r), 3)).toEqual(all);
      let added = 0;
      const seen = await walk(
        (r) => store.messages.page(conv.id, r),
        3,
        async () => {
          if (added < 5) {
            added++;
            await append(`late${added}`);
          }
        },
      );
      const after = (await store.messages.list(conv.id)).map((m) => m.id);
      expect(seen).toEqual(after);
      expect(after.length).toBe(25);
    });
  });

  describe("cursors", () => {
    test("a cursor is opaque to the caller and refused by another list or when tampered with", async () => {
      const { store } = await h.open();
      for (let i = 0; i < 3; i++) await store.workspaces.create({ id: `c${i}`, name: `c${i}`, root: "/r" });
      const first = await store.workspaces.page({ limit: 1 });
      const cursor = first.nextCursor as string;
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      const conv = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
      for (const attempt of [
        store.conversations.pageByWorkspace("default", { limit: 1, cursor }),
        store.messages.page(conv.id, { limit: 1, cursor }),
        store.workspaces.page({ limit: 1, cursor: "not-a-cursor" }),
        store.workspaces.page({ limit: 1, cursor: `${cursor}x` }),
      ]) {
        const error = await rejectionOf(attempt);
        expect(error.code).toBe("invalid_request");
        expect(error.details?.field).toBe("cursor");
      }
      expect((await rejectionOf(store.workspaces.page({ limit: 0 }))).code).toBe("invalid_request");
    });
  });
}
