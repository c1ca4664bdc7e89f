import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ConversationStore,
  conversationStoreExtension,
  conversationStoreRef,
  databaseFileName,
} from "@dispatch/conversation-store";
import { DispatchError, defineExtension } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { providerConcurrencyExtension } from "../src/extension.ts";
import { type ConcurrencyManager, concurrencyManagerRef, type Lease } from "../src/types.ts";

const hosts: TestHost[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
});

async function start(options: { dataDir?: string; config?: Record<string, unknown> } = {}) {
  const host = await createTestHost({
    extensions: [conversationStoreExtension, providerConcurrencyExtension],
    dataDir: options.dataDir,
    config: options.config,
  });
  hosts.push(host);
  return { host, store: host.get(conversationStoreRef), manager: host.get(concurrencyManagerRef) };
}

function workspace(store: ConversationStore, dataDir: string, id: string) {
  return store.workspaces.create({ id, root: join(dataDir, "workspaces", id) });
}

/** One held slot plus a queued waiter per workspace, so queue order can be read from `snapshot()`. */
async function queueOnePerWorkspace(manager: ConcurrencyManager, workspaceIds: string[]) {
  manager.setLimit("p", 1);
  const held = await manager.acquire({ providerId: "p", workspaceId: "default", promptStartedAt: 0 });
  const waiters = workspaceIds.map((workspaceId, i) =>
    manager.acquire({ providerId: "p", workspaceId, promptStartedAt: Date.now() + i, turnId: workspaceId }),
  );
  return { held, waiters };
}

function queueOrder(manager: ConcurrencyManager): Array<string | null> {
  return manager.snapshot()[0]?.queue.map((q) => q.turnId) ?? [];
}

async function drain(held: Lease, waiters: Promise<Lease>[]) {
  held.release();
  await Promise.all(waiters.map(async (w) => (await w).release()));
}

describe("providerConcurrencyExtension", () => {
  test("seeds the starred set from the store at activation", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "dispatch-concurrency-"));
    try {
      const storeOnly = await createTestHost({ extensions: [conversationStoreExtension], dataDir });
      const store = storeOnly.get(conversationStoreRef);
      await workspace(store, dataDir, "alpha");
      await workspace(store, dataDir, "beta");
      await store.workspaces.star("beta");
      await storeOnly.stop();
      // A fresh host on the same data dir: the star can only come from the database.
      const { manager } = await start({ dataDir });
      expect(manager.isStarred("beta")).toBe(true);
      expect(manager.isStarred("alpha")).toBe(false);
      await (hosts.pop() as TestHost).stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("follows star and unstar events, reordering queued waiters at once", async () => {
    const { host, store, manager } = await start();
    await workspace(store, host.dataDir, "alpha");
    await workspace(store, host.dataDir, "beta");
    const { held, waiters } = await queueOnePerWorkspace(manager, ["alpha", "beta"]);
    expect(queueOrder(manager)).toEqual(["alpha", "beta"]);
    await store.workspaces.star("beta");
    expect(manager.isStarred("beta")).toBe(true);
    expect(queueOrder(manager)).toEqual(["beta", "alpha"]);
    expect(manager.snapshot()[0]?.queue[0]?.starred).toBe(true);
    await store.workspaces.unstar("beta");
    expect(queueOrder(manager)).toEqual(["alpha", "beta"]);
    await drain(held, waiters);
  });

  test("a deleted workspace drops out, so a new one reusing its id is not starred", async () => {
    const { host, store, manager } = await start();
    await workspace(store, host.dataDir, "reused");
    await store.workspaces.star("reused");
    expect(manager.isStarred("reused")).toBe(true);
    await store.workspaces.delete("reused");
    expect(manager.isStarred("reused")).toBe(false);
    await workspace(store, host.dataDir, "reused");
    await workspace(store, host.dataDir, "other");
    const { held, waiters } = await queueOnePerWorkspace(manager, ["other", "reused"]);
    expect(queueOrder(manager)).toEqual(["other", "reused"]);
    expect(manager.snapshot()[0]?.queue.every((q) => !q.starred)).toBe(true);
    await drain(held, waiters);
  });

  test("a failing read of the starred set logs a warning and starts empty; the host runs", async () => {
    // A real failure of the real store: another connection renames the table the read needs. The
    // extension id sorts before `provider-concurrency`, so it runs between the store and us. It stars
    // `default` first, so a read that worked would have seeded it.
    const breakStore = defineExtension({
      manifest: { id: "break-store-schema", version: "0.0.0", dependsOn: ["conversation-store"] },
      async activate(ctx) {
        await ctx.use(conversationStoreRef).workspaces.star("default");
        const db = new Database(join(ctx.host.dataDir, databaseFileName));
        db.run("ALTER TABLE workspaces RENAME TO workspaces_gone");
        db.close();
      },
    });
    const host = await createTestHost({
      extensions: [conversationStoreExtension, breakStore, providerConcurrencyExtension],
    });
    hosts.push(host);
    expect(host.host.order).toEqual(["conversation-store", "break-store-schema", "provider-concurrency"]);
    const warning = host.logs.find((r) => r.ext === "provider-concurrency" && r.level === "warn");
    expect(warning?.msg).toContain("starred");
    const manager = host.get(concurrencyManagerRef);
    expect(manager.isStarred("default")).toBe(false);
    expect(host.host.status().extensions.find((e) => e.id === "provider-concurrency")?.state).toBe("active");
    manager.setLimit("p", 1);
    const lease = await manager.acquire({ providerId: "p", workspaceId: "default", promptStartedAt: 0 });
    lease.release();
  });

  test("exports slot, queue, wait and safety-net metrics", async () => {
    const { host, store, manager } = await start();
    await workspace(store, host.dataDir, "alpha");
    await store.workspaces.star("alpha");
    const { held, waiters } = await queueOnePerWorkspace(manager, ["alpha", "default"]);
    const text = await host.host.metrics.metrics();
    expect(text).toContain('dispatch_provider_slots_in_use{provider="p"} 1');
    expect(text).toContain('dispatch_provider_slots_max{provider="p"} 1');
    expect(text).toContain('dispatch_provider_queue_depth{provider="p",class="starred"} 1');
    expect(text).toContain('dispatch_provider_queue_depth{provider="p",class="unstarred"} 1');
    expect(text).toContain("dispatch_provider_leases_reclaimed_total");
    expect(text).toContain("dispatch_provider_streams_stalled_total");
    await drain(held, waiters);
    const after = await host.host.metrics.metrics();
    expect(after).toContain('dispatch_provider_queue_wait_seconds_count{provider="p",class="starred"} 1');
    expect(after).toContain('dispatch_provider_slots_in_use{provider="p"} 0');
  });

  test("rejects unknown config keys and applies defaults", async () => {
    const refused = createTestHost({
      extensions: [conversationStoreExtension, providerConcurrencyExtension],
      config: { concurrency: { agingMs: 5, bogus: 1 } },
    });
    await expect(refused).rejects.toThrow("concurrency.bogus");
    const { manager } = await start({ config: { concurrency: { maxQueue: 1 } } });
    manager.setLimit("p", 1);
    const held = await manager.acquire({ providerId: "p", workspaceId: "default", promptStartedAt: 0 });
    const queued = manager.acquire({ providerId: "p", workspaceId: "default", promptStartedAt: 0 });
    const full = await manager
      .acquire({ providerId: "p", workspaceId: "default", promptStartedAt: 0 })
      .catch((e: unknown) => e);
    expect(DispatchError.isInstance(full) && full.code).toBe("provider_queue_full");
    held.release();
    (await queued).release();
  });

  test("shutdown rejects queued waiters", async () => {
    const { host, manager } = await start();
    manager.setLimit("p", 1);
    await manager.acquire({ providerId: "p", workspaceId: "default", promptStartedAt: 0 });
    const queued = manager
      .acquire({ providerId: "p", workspaceId: "default", promptStartedAt: 0 })
      .catch((e: unknown) => e);
    await (hosts.pop() as TestHost).stop();
    const error = await queued;
    expect(DispatchError.isInstance(error) && error.code).toBe("shutdown");
    expect(host.host.status().extensions.find((e) => e.id === "provider-concurrency")?.state).toBe("stopped");
  });
});
