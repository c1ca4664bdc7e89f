import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { defineExtension } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import type { Workspace } from "@dispatch/wire";
import { type ConversationStore, conversationStoreExtension, conversationStoreRef } from "../src/index.ts";

const hosts: TestHost[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
});

async function start(
  config: Record<string, unknown> = {},
  extra: Parameters<typeof createTestHost>[0]["extensions"] = [],
) {
  const host = await createTestHost({ extensions: [conversationStoreExtension, ...extra], config });
  hosts.push(host);
  return host;
}

/** A dependent extension that records the store's bus events, as provider-concurrency will. */
function listener(seen: Array<[string, string]>) {
  return defineExtension({
    manifest: { id: "store-listener", version: "0.0.1", dependsOn: ["conversation-store"] },
    activate(ctx) {
      const record = (event: string) => (payload: { workspace: Workspace } | { id: string }) =>
        void seen.push([event, "workspace" in payload ? payload.workspace.id : payload.id]);
      for (const event of [
        "workspace.created",
        "workspace.updated",
        "workspace.starred",
        "workspace.unstarred",
      ] as const) {
        ctx.bus.subscribe(event, record(event));
      }
      ctx.bus.subscribe("workspace.deleted", record("workspace.deleted"));
    },
  });
}

describe("conversation-store extension", () => {
  test("provides the store on <dataDir>/dispatch.db with the default workspace and its root directory", async () => {
    const host = await start();
    const store: ConversationStore = host.get(conversationStoreRef);
    expect(existsSync(join(host.dataDir, "dispatch.db"))).toBe(true);
    const ws = await store.workspaces.get("default");
    expect(ws).toMatchObject({
      name: "Default",
      root: join(host.dataDir, "workspaces", "default"),
      hostId: null,
    });
    expect(statSync(ws?.root as string).isDirectory()).toBe(true);
    expect(host.host.status().extensions).toEqual([
      expect.objectContaining({
        id: "conversation-store",
        state: "active",
        health: expect.objectContaining({ path: join(host.dataDir, "dispatch.db") }),
      }),
    ]);
  });

  test("workspace changes reach other extensions on the kernel bus", async () => {
    const seen: Array<[string, string]> = [];
    const host = await start({}, [listener(seen)]);
    const store = host.get(conversationStoreRef);
    await store.workspaces.create({ id: "proj", root: "/p" });
    await store.workspaces.update("proj", { name: "Project" });
    await store.workspaces.star("proj");
    await store.workspaces.star("proj");
    await store.workspaces.unstar("proj");
    await store.workspaces.delete("proj");
    await store.workspaces.delete("default").catch(() => undefined);
    expect(seen).toEqual([
      ["workspace.created", "proj"],
      ["workspace.updated", "proj"],
      ["workspace.starred", "proj"],
      ["workspace.unstarred", "proj"],
      ["workspace.deleted", "proj"],
    ]);
  });

  test("counts appended events in dispatch_events_appended_total", async () => {
    const host = await start();
    const store = host.get(conversationStoreRef);
    const conv = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
    await store.events.append(conv.id, { type: "a", turnId: null, data: {} });
    await store.events.appendMany(
      conv.id,
      [1, 2, 3].map((i) => ({ type: "b", turnId: null, data: { i } })),
    );
    const metric = await host.host.metrics.getSingleMetricAsString("dispatch_events_appended_total");
    expect(metric).toContain("dispatch_events_appended_total 4");
  });

  test("store.maxMessageBytes from config limits a user's message", async () => {
    const host = await start({ store: { maxMessageBytes: 4 } });
    const store = host.get(conversationStoreRef);
    const conv = await store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
    await expect(
      store.turns.claim({ conversationId: conv.id, text: "12345", promptStartedAt: 1 }),
    ).rejects.toMatchObject({
      code: "invalid_request",
      details: { field: "text", limit: 4 },
    });
  });

  test("unknown or invalid store config keys stop start-up, naming the path", async () => {
    await expect(
      createTestHost({ extensions: [conversationStoreExtension], config: { store: { maxMessageByte: 1 } } }),
    ).rejects.toThrow(/maxMessageByte/);
    await expect(
      createTestHost({ extensions: [conversationStoreExtension], config: { store: { busyTimeoutMs: -1 } } }),
    ).rejects.toThrow(/store\.busyTimeoutMs/);
  });

  test("shutdown closes the database", async () => {
    const host = await start();
    const store = host.get(conversationStoreRef);
    const report = await host.stop();
    hosts.splice(hosts.indexOf(host), 1);
    expect(report.errors).toEqual([]);
    await expect(store.workspaces.list()).rejects.toMatchObject({ code: "store_closed" });
  });
});
