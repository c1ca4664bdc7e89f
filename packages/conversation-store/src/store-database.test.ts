import { afterEach, describe, expect, test } from "bun:test";
import { cleanupAll, rejectionOf, tempStore } from "../test/fixtures/temp-store.ts";
import { openConversationStore } from "./open-conversation-store.ts";
import { StoreDatabase } from "./store-database.ts";
import { StoreError } from "./store-error.ts";

afterEach(cleanupAll);

function rawDatabase(path: string, published: string[]) {
  return StoreDatabase.open({
    path,
    busyTimeoutMs: 1000,
    bus: { publish: (event) => void published.push(event) },
  });
}

describe("StoreDatabase", () => {
  test("the connection runs in WAL mode with busy_timeout, foreign keys and synchronous=NORMAL", () => {
    const temp = tempStore();
    temp.store.close();
    const published: string[] = [];
    const db = rawDatabase(temp.path, published);
    try {
      const pragma = (name: string) => Object.values(db.sqlite.query(`PRAGMA ${name}`).get() as object)[0];
      expect(pragma("journal_mode")).toBe("wal");
      expect(pragma("foreign_keys")).toBe(1);
      expect(pragma("synchronous")).toBe(1); // NORMAL
      expect(pragma("busy_timeout")).toBe(1000);
    } finally {
      db.close();
    }
  });

  test("write publishes what was emitted only after COMMIT, in order", () => {
    const temp = tempStore();
    temp.store.close();
    const published: string[] = [];
    const db = rawDatabase(temp.path, published);
    try {
      db.write((emit) => {
        emit("workspace.deleted", { id: "a" });
        emit("workspace.deleted", { id: "b" });
        expect(published).toEqual([]);
        expect(db.sqlite.inTransaction).toBe(true);
      });
      expect(published).toEqual(["workspace.deleted", "workspace.deleted"]);
    } finally {
      db.close();
    }
  });

  test("a write that throws after emitting rolls back its rows and publishes nothing", () => {
    const temp = tempStore();
    temp.store.close();
    const published: string[] = [];
    const db = rawDatabase(temp.path, published);
    try {
      expect(() =>
        db.write((emit) => {
          db.sqlite.run(
            "INSERT INTO workspaces (id, name, root, created_at, updated_at) VALUES ('x', 'x', '/x', 1, 1)",
          );
          emit("workspace.deleted", { id: "x" });
          throw new Error("boom");
        }),
      ).toThrow("boom");
      expect(db.sqlite.inTransaction).toBe(false);
      expect(db.sqlite.query("SELECT id FROM workspaces WHERE id = 'x'").get()).toBeNull();
      expect(published).toEqual([]);
    } finally {
      db.close();
    }
  });

  test("a subscriber that throws does not turn a committed write into an error", async () => {
    const temp = tempStore({
      bus: {
        publish() {
          throw new Error("subscriber failed");
        },
      },
    });
    const ws = await temp.store.workspaces.create({ id: "proj", root: "/p" });
    expect(await temp.store.workspaces.get("proj")).toEqual(ws);
  });

  test("writes do not nest", () => {
    const temp = tempStore();
    temp.store.close();
    const db = rawDatabase(temp.path, []);
    try {
      expect(() => db.write(() => db.write(() => 1))).toThrow("must not nest");
      expect(db.sqlite.inTransaction).toBe(false);
    } finally {
      db.close();
    }
  });

  test("one connection per database file per process", () => {
    const temp = tempStore();
    let error: unknown;
    try {
      openConversationStore({ path: `${temp.dir}/./dispatch.db` });
    } catch (caught) {
      error = caught;
    }
    expect(StoreError.isInstance(error)).toBe(true);
    expect((error as StoreError).code).toBe("conflict");
    expect((error as Error).message).toContain("already open in this process");
  });

  test("a closed store fails clearly, and close is idempotent", async () => {
    const temp = tempStore();
    temp.store.close();
    temp.store.close();
    const error = await rejectionOf(temp.store.workspaces.list());
    expect(error.code).toBe("store_closed");
    const write = await rejectionOf(temp.store.events.append("c", { type: "x", turnId: null, data: {} }));
    expect(write.code).toBe("store_closed");
  });
});

describe("StoreDatabase.transaction", () => {
  test("a call whose promise chain began inside a transaction runs on its own after it ended", async () => {
    const temp = tempStore();
    let later!: () => void;
    const released = new Promise<void>((resolve) => {
      later = resolve;
    });
    let afterwards: Promise<unknown> | undefined;
    await temp.store.transaction(async () => {
      // Registered inside, so it carries the transaction's async context; it runs after the commit.
      afterwards = released.then(() => temp.store.workspaces.create({ id: "late", root: "/l" }));
      await temp.store.workspaces.create({ id: "early", root: "/e" });
    });
    const before = temp.published.length;
    later();
    await afterwards;
    expect(temp.published.slice(before).map((p) => p.event)).toEqual(["workspace.created"]);
    expect(temp.peek<{ id: string }>("SELECT id FROM workspaces ORDER BY id").map((r) => r.id)).toEqual([
      "default",
      "early",
      "late",
    ]);
  });

  test("closing the store during a transaction rolls it back; those waiting get store_closed", async () => {
    const temp = tempStore();
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let proceed!: () => void;
    const held = new Promise<void>((resolve) => {
      proceed = resolve;
    });
    const tx = temp.store.transaction(async () => {
      await temp.store.workspaces.create({ id: "lost", root: "/l" });
      entered();
      await held;
    });
    await inside;
    const before = temp.published.length;
    const waiting = temp.store.workspaces.list();
    temp.store.close();
    proceed();
    expect((await rejectionOf(tx)).code).toBe("store_closed");
    expect((await rejectionOf(waiting)).code).toBe("store_closed");
    expect(temp.published.length).toBe(before);
    expect(temp.peek("SELECT id FROM workspaces WHERE id = 'lost'")).toEqual([]);
  });

  test("transactions from two contexts run one after the other", async () => {
    const temp = tempStore();
    const order: string[] = [];
    let proceed!: () => void;
    const held = new Promise<void>((resolve) => {
      proceed = resolve;
    });
    const first = temp.store.transaction(async () => {
      order.push("first begins");
      await held;
      await temp.store.workspaces.create({ id: "one", root: "/1" });
      order.push("first ends");
    });
    const second = temp.store.transaction(async () => {
      order.push("second begins");
      expect(await temp.store.workspaces.get("one")).toBeDefined();
      order.push("second ends");
    });
    proceed();
    await Promise.all([first, second]);
    expect(order).toEqual(["first begins", "first ends", "second begins", "second ends"]);
  });

  test("a cached read made inside a transaction that rolls back is not served after it", async () => {
    const temp = tempStore();
    expect((await temp.store.workspaces.list()).map((w) => w.id)).toEqual(["default"]);
    await rejectionOf(
      temp.store.transaction(async () => {
        await temp.store.workspaces.create({ id: "gone", root: "/g" });
        expect((await temp.store.workspaces.list()).map((w) => w.id)).toEqual(["default", "gone"]);
        throw new Error("undo");
      }),
    );
    expect((await temp.store.workspaces.list()).map((w) => w.id)).toEqual(["default"]);
    expect(await temp.store.workspaces.get("gone")).toBeUndefined();
  });
});
