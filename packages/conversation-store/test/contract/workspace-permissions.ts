import { describe, expect, test } from "bun:test";
import { rejectionOf, type StoreHarness } from "./harness.ts";

/** A workspace's sandbox fields (network, permission rules) on both stores. */
export function workspacePermissionsContract(h: StoreHarness): void {
  describe("workspace network and permissions (issue 20)", () => {
    test("a new workspace inherits the host's network setting and has no rules of its own", async () => {
      const { store } = await h.open();
      const ws = await store.workspaces.create({ id: "proj", root: "/srv/proj" });
      expect(ws).toMatchObject({ network: null, permissions: {} });
      expect((await store.workspaces.get("default"))?.permissions).toEqual({});
    });

    test("create and update store both fields; permissions are replaced as a whole", async () => {
      const { store, published } = await h.open();
      const created = await store.workspaces.create({
        id: "proj",
        root: "/srv/proj",
        network: true,
        permissions: { bash: "ask", "write_file:*.env": "deny" },
      });
      expect(created).toMatchObject({
        network: true,
        permissions: { bash: "ask", "write_file:*.env": "deny" },
      });
      published.length = 0;
      const updated = await store.workspaces.update("proj", {
        network: false,
        permissions: { "*": "allow" },
      });
      expect(updated).toMatchObject({ network: false, permissions: { "*": "allow" } });
      expect(await store.workspaces.get("proj")).toEqual(updated);
      expect(published.map((p) => p.event)).toEqual(["workspace.updated"]);
      const back = await store.workspaces.update("proj", { network: null });
      expect(back.network).toBeNull();
    });

    test("setPermission adds one rule atomically, and concurrent ones all survive", async () => {
      const { store, published } = await h.open();
      await store.workspaces.create({ id: "proj", root: "/srv/proj", permissions: { bash: "ask" } });
      published.length = 0;
      await Promise.all([
        store.workspaces.setPermission("proj", "bash:git status", "allow"),
        store.workspaces.setPermission("proj", "bash:rm -rf*", "deny"),
      ]);
      expect((await store.workspaces.get("proj"))?.permissions).toEqual({
        bash: "ask",
        "bash:git status": "allow",
        "bash:rm -rf*": "deny",
      });
      expect(published.map((p) => p.event)).toEqual(["workspace.updated", "workspace.updated"]);
      published.length = 0;
      // The same rule again changes nothing and publishes nothing.
      await store.workspaces.setPermission("proj", "bash:git status", "allow");
      expect(published).toEqual([]);
    });

    test("a bad rule key or decision is invalid_request naming the rule; nothing is stored", async () => {
      const { store } = await h.open();
      await store.workspaces.create({ id: "proj", root: "/srv/proj" });
      const badKey = await rejectionOf(
        store.workspaces.update("proj", { permissions: { "no spaces allowed": "allow" } }),
      );
      expect(badKey.code).toBe("invalid_request");
      expect(badKey.message).toContain('permissions["no spaces allowed"]');
      const badDecision = await rejectionOf(
        // @ts-expect-error: a decision outside allow/ask/deny, as an untyped caller could send
        store.workspaces.setPermission("proj", "bash", "maybe"),
      );
      expect(badDecision.code).toBe("invalid_request");
      expect((await store.workspaces.get("proj"))?.permissions).toEqual({});
    });
  });
}
