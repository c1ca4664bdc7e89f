import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { conversationStoreExtension, conversationStoreRef } from "@dispatch/conversation-store";
import { createTestDatabase, type TestDatabase } from "@dispatch/conversation-store/testing";
import { createLogger, defineExtension } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { clusterExtension } from "../src/extension.ts";
import { InstanceRegistry } from "../src/instance-registry.ts";
import { clusterRef } from "../src/types.ts";

const hosts: TestHost[] = [];
const databases: TestDatabase[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
  for (const database of databases.splice(0)) await database.drop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const fast = { instanceTimeoutMs: 400, heartbeatMs: 100 };

/** A host with the store and the cluster, recording the cluster's bus events. */
async function start(url: string, dataDir?: string, cluster: Record<string, number> = fast) {
  const lost: string[] = [];
  const fenced: string[] = [];
  const recorder = defineExtension({
    manifest: { id: "recorder", version: "0.0.1", dependsOn: ["cluster"] },
    activate(ctx) {
      ctx.bus.subscribe("cluster.instance_lost", ({ instanceId }) => void lost.push(instanceId));
      ctx.bus.subscribe("cluster.fenced", ({ reason }) => void fenced.push(reason));
    },
  });
  const test = await createTestHost({
    extensions: [conversationStoreExtension, clusterExtension, recorder],
    config: { store: { url }, cluster },
    ...(dataDir === undefined ? {} : { dataDir }),
  });
  hosts.push(test);
  return { test, lost, fenced, cluster: test.get(clusterRef), store: test.get(conversationStoreRef) };
}

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(20);
  }
}

async function database(): Promise<string> {
  const made = await createTestDatabase();
  databases.push(made);
  return made.url;
}

describe("cluster membership on Postgres", () => {
  test("hosts heartbeat their rows; a silent one is declared dead once, and every host hears it", async () => {
    const url = await database();
    const a = await start(url);
    const b = await start(url);
    // a third "host" that joins and then never heartbeats again, as a process killed with -9
    const silentStore = b.store;
    const silent = new InstanceRegistry({
      store: { ...silentStore, instanceId: "i_silent" },
      instanceTimeoutMs: fast.instanceTimeoutMs,
      logger: createLogger({ sink: () => {} }),
      onLost: () => {},
      onFenced: () => {},
    });
    await silent.join(undefined);
    expect((await a.cluster.instances()).map((i) => i.id).sort()).toEqual(
      [a.store.instanceId, b.store.instanceId, "i_silent"].sort(),
    );
    await until(() => a.lost.includes("i_silent") && b.lost.includes("i_silent"));
    const rows = await a.cluster.instances();
    expect(rows.find((r) => r.id === "i_silent")?.deadAt).not.toBeNull();
    expect(
      rows
        .filter((r) => r.deadAt === null)
        .map((r) => r.id)
        .sort(),
    ).toEqual([a.store.instanceId, b.store.instanceId].sort());
    // declared once: each host heard it once, though both swept
    await Bun.sleep(300);
    expect(a.lost.filter((id) => id === "i_silent")).toEqual(["i_silent"]);
    expect(b.lost.filter((id) => id === "i_silent")).toEqual(["i_silent"]);
    expect(a.fenced).toEqual([]);
  });

  test("a host declared dead while it still runs is fenced (it must not go on with work now recovered elsewhere)", async () => {
    const url = await database();
    const a = await start(url);
    const b = await start(url);
    const { SQL } = await import("bun");
    const admin = new SQL(url, { max: 1 });
    try {
      // what a survivor does when b's heartbeats stop arriving
      await admin`update cluster_instances set dead_at = 1 where id = ${b.store.instanceId}`;
      await admin`select pg_notify('cluster_instance_lost', ${b.store.instanceId})`;
    } finally {
      await admin.close();
    }
    await until(() => b.fenced.length > 0 && b.cluster.fenced);
    expect(a.fenced).toEqual([]);
    expect(a.lost).toContain(b.store.instanceId);
  });

  test("a clean shutdown leaves the cluster: survivors hear of it at once", async () => {
    const url = await database();
    const a = await start(url);
    const b = await start(url);
    const id = b.store.instanceId;
    hosts.splice(hosts.indexOf(b.test), 1);
    await b.test.stop();
    await until(() => a.lost.includes(id));
  });

  test("a host restarted on its data dir declares its previous instance dead at once, without waiting out the timeout", async () => {
    const url = await database();
    const slow = { instanceTimeoutMs: 60_000, heartbeatMs: 1_000 };
    const a = await start(url, undefined, slow);
    // the previous run of this data dir: its row is alive (it was killed, it did not leave)
    const previous = new InstanceRegistry({
      store: { ...a.store, instanceId: "i_previous" },
      instanceTimeoutMs: slow.instanceTimeoutMs,
      logger: createLogger({ sink: () => {} }),
      onLost: () => {},
      onFenced: () => {},
    });
    await previous.join(undefined);
    const dataDir = mkdtempSync(join(tmpdir(), "dispatch-cluster-test-"));
    dirs.push(dataDir);
    mkdirSync(join(dataDir, "extensions", "cluster"), { recursive: true });
    writeFileSync(join(dataDir, "extensions", "cluster", "instance"), "i_previous");
    const restarted = await start(url, dataDir, slow);
    await until(() => restarted.lost.includes("i_previous") && a.lost.includes("i_previous"));
    expect(readFileSync(join(dataDir, "extensions", "cluster", "instance"), "utf8")).toBe(
      restarted.store.instanceId,
    );
  });

  test("on SQLite the service is inert", async () => {
    const test = await createTestHost({ extensions: [conversationStoreExtension, clusterExtension] });
    hosts.push(test);
    const cluster = test.get(clusterRef);
    expect(cluster.enabled).toBe(false);
    expect(await cluster.instances()).toEqual([]);
  });
});
