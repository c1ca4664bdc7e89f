import { describe, expect, test } from "bun:test";
import { limits } from "@dispatch/wire";
import { rejectionOf, type StoreHarness } from "./harness.ts";

/** The workspaces contract that the SQLite and the Postgres store both keep. */
export function workspacesContract(h: StoreHarness): void {
  describe("workspaces", () => {
    test("the default workspace exists on first start, named Default, rooted under the data dir", async () => {
      const { store, dataDir: dir, published } = await h.open();
      const ws = await store.workspaces.get("default");
      expect(ws).toMatchObject({
        id: "default",
        name: "Default",
        root: `${dir}/workspaces/default`,
        hostId: null,
      });
      expect(ws?.starred).toBe(false);
      expect(published.map((p) => p.event)).toEqual(["workspace.created"]);
    });

    test("create returns the row, defaults the name to the id and publishes workspace.created", async () => {
      const { store, published } = await h.open();
      published.length = 0;
      const ws = await store.workspaces.create({ id: "proj", root: "/srv/proj" });
      expect(ws).toMatchObject({ id: "proj", name: "proj", root: "/srv/proj", hostId: null, starred: false });
      expect(new Date(ws.createdAt).toISOString()).toBe(ws.createdAt);
      expect(await store.workspaces.get("proj")).toEqual(ws);
      expect(published).toEqual([{ event: "workspace.created", payload: { workspace: ws } }]);
    });

    test("an existing id is a conflict and publishes nothing", async () => {
      const { store, published } = await h.open();
      await store.workspaces.create({ id: "proj", root: "/a" });
      published.length = 0;
      const error = await rejectionOf(store.workspaces.create({ id: "proj", root: "/b" }));
      expect(error.code).toBe("conflict");
      expect(error.message).toContain('"proj" already exists');
      expect((await store.workspaces.get("proj"))?.root).toBe("/a");
      expect(published).toEqual([]);
    });

    test("list puts starred first, then orders by name (case-insensitively), then by id", async () => {
      const { store } = await h.open();
      await store.workspaces.create({ id: "w1", name: "beta", root: "/1" });
      await store.workspaces.create({ id: "w2", name: "Alpha", root: "/2" });
      await store.workspaces.create({ id: "w4", name: "zeta", root: "/4" });
      await store.workspaces.create({ id: "w3", name: "zeta", root: "/3" });
      await store.workspaces.star("w4");
      await store.workspaces.star("w1");
      const ids = (await store.workspaces.list()).map((w) => w.id);
      expect(ids).toEqual(["w1", "w4", "w2", "default", "w3"]);
      expect(await store.workspaces.starredIds()).toEqual(["w1", "w4"]);
    });

    test("star and unstar are idempotent and publish only when the flag changes", async () => {
      const { store, published } = await h.open();
      await store.workspaces.create({ id: "proj", root: "/p" });
      published.length = 0;
      expect((await store.workspaces.star("proj")).starred).toBe(true);
      expect((await store.workspaces.star("proj")).starred).toBe(true);
      expect((await store.workspaces.unstar("proj")).starred).toBe(false);
      expect((await store.workspaces.unstar("proj")).starred).toBe(false);
      expect(published.map((p) => p.event)).toEqual(["workspace.starred", "workspace.unstarred"]);
      expect(published[0]?.payload).toMatchObject({ workspace: { id: "proj", starred: true } });
    });

    test("the default workspace can be starred like any other", async () => {
      const { store } = await h.open();
      expect((await store.workspaces.star("default")).starred).toBe(true);
      expect(await store.workspaces.starredIds()).toEqual(["default"]);
    });

    test("update changes the given fields, bumps updatedAt, and publishes only for a real change", async () => {
      let now = 1_000;
      const { store, published } = await h.open({ clock: () => now });
      await store.workspaces.create({ id: "proj", name: "Old", root: "/p", hostId: "box" });
      published.length = 0;
      now = 2_000;
      const same = await store.workspaces.update("proj", { name: "Old" });
      expect(same.updatedAt).toBe(new Date(1_000).toISOString());
      const ws = await store.workspaces.update("proj", { name: "New", hostId: null });
      expect(ws).toMatchObject({
        name: "New",
        root: "/p",
        hostId: null,
        updatedAt: new Date(2_000).toISOString(),
      });
      expect(published).toEqual([{ event: "workspace.updated", payload: { workspace: ws } }]);
    });

    test("a missing workspace: get is undefined, the others are not_found", async () => {
      const { store } = await h.open();
      expect(await store.workspaces.get("nope")).toBeUndefined();
      // each call is made when its turn comes: a rejection nobody awaits yet would be unhandled
      for (const op of [
        () => store.workspaces.update("nope", { name: "x" }),
        () => store.workspaces.star("nope"),
        () => store.workspaces.unstar("nope"),
        () => store.workspaces.delete("nope"),
      ]) {
        const error = await rejectionOf(op());
        expect(error.code).toBe("not_found");
        expect(error.message).toContain('"nope"');
      }
    });

    test("deleting the default workspace is refused with a clear conflict", async () => {
      const { store, published } = await h.open();
      published.length = 0;
      const error = await rejectionOf(store.workspaces.delete("default"));
      expect(error.code).toBe("conflict");
      expect(error.message).toBe('the "default" workspace cannot be deleted');
      expect(await store.workspaces.get("default")).toBeDefined();
      expect(published).toEqual([]);
    });

    test("delete cascades to conversations, turns, messages, events and locks, then publishes", async () => {
      const temp = await h.open();
      const { store } = temp;
      await store.workspaces.create({ id: "proj", root: "/p" });
      const keep = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
      await store.events.append(keep.id, { type: "x", turnId: null, data: {} });
      const conv = await store.conversations.create({ workspaceId: "proj", provider: "p", model: "m" });
      const { turn } = await store.turns.claim({ conversationId: conv.id, text: "hi", promptStartedAt: 1 });
      await store.locks.acquire({
        workspaceId: "proj",
        path: "a",
        conversationId: conv.id,
        turnId: turn.id,
        ttlMs: 60_000,
      });
      await store.messages.append({ conversationId: conv.id, turnId: turn.id, role: "assistant", parts: [] });
      await store.events.appendMany(conv.id, [
        { type: "a", turnId: turn.id, data: {} },
        { type: "b", turnId: turn.id, data: {} },
      ]);
      await store.turns.setStatus(turn.id, "completed");
      temp.published.length = 0;

      await store.workspaces.delete("proj");

      const count = temp.count;
      expect(await store.workspaces.get("proj")).toBeUndefined();
      expect(await count("conversations")).toBe(1);
      expect(await count("turns")).toBe(0);
      expect(await count("messages")).toBe(0);
      expect(await count("events")).toBe(1);
      expect(await count("locks")).toBe(0);
      expect(temp.published).toEqual([{ event: "workspace.deleted", payload: { id: "proj" } }]);
    });

    test("a workspace with an active turn cannot be deleted", async () => {
      const { store, published } = await h.open();
      await store.workspaces.create({ id: "proj", root: "/p" });
      const conv = await store.conversations.create({ workspaceId: "proj", provider: "p", model: "m" });
      await store.turns.claim({ conversationId: conv.id, text: "hi", promptStartedAt: 1 });
      published.length = 0;
      const error = await rejectionOf(store.workspaces.delete("proj"));
      expect(error.code).toBe("conflict");
      expect(error.details).toMatchObject({ activeTurns: 1 });
      expect(await store.conversations.get(conv.id)).toBeDefined();
      expect(published).toEqual([]);
    });

    describe("limits are validation errors that name the field", () => {
      const cases: Array<[string, { id: string; name?: string; root: string; hostId?: string | null }]> = [
        ["name", { id: "a", name: "n".repeat(limits.workspaceName + 1), root: "/r" }],
        ["name", { id: "a", name: "", root: "/r" }],
        ["root", { id: "a", root: `/${"r".repeat(limits.workspaceRoot)}` }],
        ["root", { id: "a", root: "" }],
        ["id", { id: "Not A Slug", root: "/r" }],
        ["id", { id: "a".repeat(64), root: "/r" }],
        ["hostId", { id: "a", root: "/r", hostId: "bad host" }],
      ];
      for (const [field, input] of cases) {
        test(`${field}: ${JSON.stringify(input).slice(0, 60)}`, async () => {
          const { store } = await h.open();
          const error = await rejectionOf(store.workspaces.create(input));
          expect(error.code).toBe("invalid_request");
          expect(error.details?.field).toBe(field);
          expect(await store.workspaces.get(input.id)).toBeUndefined();
        });
      }

      test("exactly at the limits is accepted", async () => {
        const { store } = await h.open();
        const name = "n".repeat(limits.workspaceName);
        const root = `/${"r".repeat(limits.workspaceRoot - 1)}`;
        const ws = await store.workspaces.create({ id: "a", name, root });
        expect(ws.name.length).toBe(limits.workspaceName);
        expect(ws.root.length).toBe(limits.workspaceRoot);
      });

      test("update checks the same limits", async () => {
        const { store } = await h.open();
        const error = await rejectionOf(store.workspaces.update("default", { name: "n".repeat(201) }));
        expect(error.details?.field).toBe("name");
      });
    });
  });
}
