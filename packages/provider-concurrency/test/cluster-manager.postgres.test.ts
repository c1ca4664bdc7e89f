import { afterEach, describe, expect, test } from "bun:test";
import { clusterExtension } from "@dispatch/cluster";
import { conversationStoreExtension, conversationStoreRef } from "@dispatch/conversation-store";
import { reusableTestDatabase, type TestDatabase } from "@dispatch/conversation-store/testing";
import { DispatchError } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { SQL } from "bun";
import fc from "fast-check";
import type { ClusterConcurrencyManager } from "../src/cluster/cluster-concurrency-manager.ts";
import { providerConcurrencyExtension } from "../src/extension.ts";
import { concurrencyManagerRef, type Lease } from "../src/types.ts";

// The cluster-backed manager (DESIGN §17): hosts on one Postgres database share each provider's
// slots exactly, granted starred-first then oldest prompt across all of them.

// Prompt times are recent: a prompt older than `agingMs` (two minutes) would be served as if starred.
const t0 = Date.now();

const hosts: TestHost[] = [];
const databases: TestDatabase[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
  for (const database of databases.splice(0)) await database.drop();
});

async function database(): Promise<string> {
  const made = await reusableTestDatabase();
  databases.push(made);
  return made.url;
}

async function host(url: string, cluster = { instanceTimeoutMs: 2_000, heartbeatMs: 200 }) {
  const test = await createTestHost({
    extensions: [conversationStoreExtension, clusterExtension, providerConcurrencyExtension],
    config: { store: { url }, cluster, concurrency: { watchdogIntervalMs: 100 } },
  });
  hosts.push(test);
  const manager = test.get(concurrencyManagerRef) as ClusterConcurrencyManager;
  return { test, manager, store: test.get(conversationStoreRef) };
}

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(10);
  }
}

/** Resolves when the promise settles, with whether it was fulfilled. */
function settled(promise: Promise<unknown>): { done: () => boolean } {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  return { done: () => done };
}

describe("the cluster-backed concurrency manager", () => {
  test("across two hosts at random, never more leases held than the limit, and every call is served", async () => {
    const url = await database();
    const a = await host(url);
    const b = await host(url);
    for (const { manager } of [a, b]) manager.setLimit("p", 2);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ on: fc.nat(1), holdMs: fc.integer({ min: 0, max: 15 }) }), {
          minLength: 4,
          maxLength: 16,
        }),
        async (calls) => {
          let held = 0;
          let most = 0;
          await Promise.all(
            calls.map(async ({ on, holdMs }, i) => {
              const manager = (on === 0 ? a : b).manager;
              const lease = await manager.acquire({
                providerId: "p",
                workspaceId: "default",
                promptStartedAt: t0 + i,
              });
              held += 1;
              most = Math.max(most, held);
              await Bun.sleep(holdMs);
              held -= 1;
              lease.release();
            }),
          );
          expect(most).toBeLessThanOrEqual(2);
        },
      ),
      { numRuns: 15 },
    );
  }, 120_000);

  test("grants go starred first, then oldest prompt, then arrival, whichever host waits", async () => {
    const url = await database();
    const a = await host(url);
    const b = await host(url);
    for (const id of ["plain", "vip"]) await a.store.workspaces.create({ id, root: `/tmp/${id}` });
    await a.store.workspaces.star("vip");
    await until(() => b.manager.isStarred("vip"));
    for (const { manager } of [a, b]) manager.setLimit("p", 1);
    const first = await a.manager.acquire({ providerId: "p", workspaceId: "plain", promptStartedAt: t0 + 0 });
    const order: string[] = [];
    const wait = async (on: typeof a, workspaceId: string, promptStartedAt: number, name: string) => {
      const { lease } = await enqueue(on.manager, {
        providerId: "p",
        workspaceId,
        promptStartedAt: t0 + promptStartedAt,
        turnId: name,
      });
      return {
        // each gives its slot back as soon as it has it, so the next in line can be served
        lease: lease.then((granted) => {
          order.push(name);
          granted.release();
        }),
      };
    };
    const waiting = [
      await wait(b, "plain", 30, "b-plain-30"),
      await wait(a, "plain", 10, "a-plain-10"),
      await wait(b, "vip", 50, "b-vip-50"),
      await wait(a, "plain", 10, "a-plain-10-later"),
    ];
    first.release();
    await Promise.all(waiting.map(({ lease }) => lease));
    expect(order).toEqual(["b-vip-50", "a-plain-10", "a-plain-10-later", "b-plain-30"]);
  });

  test("starring a workspace on host A moves host B's waiters ahead (B's queue shows it, the next grant follows it)", async () => {
    const url = await database();
    const a = await host(url);
    const b = await host(url);
    for (const id of ["plain", "later"]) await a.store.workspaces.create({ id, root: `/tmp/${id}` });
    for (const { manager } of [a, b]) manager.setLimit("p", 1);
    const first = await a.manager.acquire({ providerId: "p", workspaceId: "plain", promptStartedAt: t0 + 0 });
    const order: string[] = [];
    const { lease: plain } = await enqueue(b.manager, {
      providerId: "p",
      workspaceId: "plain",
      promptStartedAt: t0 + 1,
      turnId: "plain",
    });
    const { lease: later } = await enqueue(b.manager, {
      providerId: "p",
      workspaceId: "later",
      promptStartedAt: t0 + 2,
      turnId: "later",
    });
    const leases = [plain, later].map((p, i) =>
      p.then((lease) => {
        order.push(i === 0 ? "plain" : "later");
        lease.release();
      }),
    );
    const bQueue = () => b.manager.snapshot()[0]?.queue.map((w) => w.turnId) ?? [];
    expect(bQueue()).toEqual(["plain", "later"]);
    await a.store.workspaces.star("later");
    await until(() => bQueue()[0] === "later" && b.manager.isStarred("later"));
    // the rows' copy of the star is what the grant reads: wait for it before freeing the slot
    const peek = new SQL(url, { max: 1 });
    try {
      await until(async () => {
        const [row] = await peek`select starred from provider_concurrency_waiters where turn_id = 'later'`;
        return row?.starred === true;
      });
    } finally {
      await peek.close();
    }
    first.release();
    await Promise.all(leases);
    expect(order).toEqual(["later", "plain"]);
  });

  test("a host that dies holding slots: its leases go when the cluster declares it lost, and the waiters on a survivor get them", async () => {
    const url = await database();
    const a = await host(url);
    const b = await host(url);
    for (const { manager } of [a, b]) manager.setLimit("p", 2);
    const aLeases = [
      await a.manager.acquire({ providerId: "p", workspaceId: "default", promptStartedAt: t0 + 0 }),
      await a.manager.acquire({ providerId: "p", workspaceId: "default", promptStartedAt: t0 + 1 }),
    ];
    const { lease: waiting } = await enqueue(b.manager, {
      providerId: "p",
      workspaceId: "default",
      promptStartedAt: t0 + 2,
    });
    const state = settled(waiting);
    await b.manager.tick();
    expect(state.done()).toBe(false);
    // a stops renewing (its process is gone; nothing of it runs any more) and the cluster sweeps it
    a.manager.dispose();
    const { instanceId } = a.store;
    await b.manager.forgetInstance(instanceId);
    const lease = await waiting;
    lease.release();
    expect(aLeases.length).toBe(2);
  });

  test("a dead host's rows expire after the lease lifetime even before anyone declares it lost", async () => {
    const url = await database();
    const a = await host(url, { instanceTimeoutMs: 600, heartbeatMs: 150 });
    const b = await host(url, { instanceTimeoutMs: 600, heartbeatMs: 150 });
    for (const { manager } of [a, b]) manager.setLimit("p", 1);
    await a.manager.acquire({ providerId: "p", workspaceId: "default", promptStartedAt: t0 + 0 });
    a.manager.dispose(); // no more renewals from a
    const lease = await b.manager.acquire({
      providerId: "p",
      workspaceId: "default",
      promptStartedAt: t0 + 1,
    });
    lease.release();
  });

  test("an aborted waiter leaves the queue and is never granted; a lease whose row is gone is stopped by its holder", async () => {
    const url = await database();
    const a = await host(url);
    const b = await host(url);
    for (const { manager } of [a, b]) manager.setLimit("p", 1);
    const holder = await a.manager.acquire({
      providerId: "p",
      workspaceId: "default",
      promptStartedAt: t0 + 0,
    });
    const controller = new AbortController();
    const { lease: aborted } = await enqueue(b.manager, {
      providerId: "p",
      workspaceId: "default",
      promptStartedAt: t0 + 1,
      signal: controller.signal,
    });
    const { lease: next } = await enqueue(b.manager, {
      providerId: "p",
      workspaceId: "default",
      promptStartedAt: t0 + 2,
    });
    controller.abort(new DispatchError("cancelled", "the turn was cancelled"));
    expect(
      (await aborted.then(
        () => undefined,
        (e: unknown) => e,
      )) as DispatchError,
    ).toMatchObject({
      code: "cancelled",
    });
    holder.release();
    const granted = await next;
    expect(b.manager.leaseCount).toBe(1);
    // the lease's row vanishes behind the holder's back (expired while it was stalled): it stops
    const admin = new SQL(url, { max: 1 });
    try {
      await admin`delete from provider_concurrency_leases`;
    } finally {
      await admin.close();
    }
    await until(() => granted.signal.aborted);
    expect((granted.signal.reason as DispatchError).code).toBe("lease_reclaimed");
    expect(b.manager.leaseCount).toBe(0);
  });

  test("a provider-given retry delay on host A pauses grants on host B too, until it passes", async () => {
    const url = await database();
    const a = await host(url);
    const b = await host(url);
    for (const { manager } of [a, b]) manager.setLimit("p", 2);
    a.manager.pauseUntil("p", Date.now() + 3_000);
    // the pause reaches the provider's row; then a free slot is not granted while it lasts
    const peek = new SQL(url, { max: 1 });
    try {
      await until(async () => {
        const [row] =
          await peek`select cooling_until from provider_concurrency_limits where provider_id = 'p'`;
        return row?.cooling_until !== null && row?.cooling_until !== undefined;
      });
    } finally {
      await peek.close();
    }
    let queued = false;
    const lease = await b.manager.acquire({
      providerId: "p",
      workspaceId: "default",
      promptStartedAt: t0 + 1,
      onQueued: () => {
        queued = true;
      },
    });
    expect(queued).toBe(true);
    lease.release();
  });
});

/** Acquires, and resolves once the call is queued (its row is in the table): arrival order is then fixed. */
async function enqueue(
  manager: ClusterConcurrencyManager,
  request: Omit<Parameters<ClusterConcurrencyManager["acquire"]>[0], "onQueued">,
): Promise<{ lease: Promise<Lease> }> {
  const { promise: isQueued, resolve } = Promise.withResolvers<void>();
  const lease = manager.acquire({ ...request, onQueued: resolve });
  await Promise.race([isQueued, lease]);
  // wrapped: an async function would otherwise wait for the lease itself
  return { lease };
}
