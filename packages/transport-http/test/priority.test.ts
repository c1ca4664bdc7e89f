import { expect, test } from "bun:test";
import { type ApiHarness, slowScripted, startApi, waitFor } from "./harness.ts";

async function conversation(api: ApiHarness, workspaceId: string): Promise<string> {
  const res = await api.client.workspaces[":id"].conversations.$post({
    param: { id: workspaceId },
    json: {},
  });
  return (await res.json()).id;
}

async function post(api: ApiHarness, conversationId: string): Promise<void> {
  const res = await api.client.conversations[":id"].messages.$post({
    param: { id: conversationId },
    json: { text: "go" },
  });
  expect(res.status).toBe(202);
}

async function queueOrder(api: ApiHarness): Promise<string[]> {
  const body = await (await api.client.providers.$get()).json();
  return body.providers[0]?.queue.map((q) => q.conversationId ?? "?") ?? [];
}

test("starred workspaces go first, and starring mid-queue reorders the waiters at once", async () => {
  // One slot; each turn streams 6 chunks 60 ms apart, so the queue stays put while we look at it.
  const api = await startApi(slowScripted(1, 6, 60));
  try {
    for (const id of ["plain", "later", "vip"]) await api.client.workspaces.$post({ json: { id } });
    await api.client.workspaces[":id"].star.$put({ param: { id: "vip" } });

    const running = await conversation(api, "plain");
    const plain2 = await conversation(api, "plain");
    const plain3 = await conversation(api, "plain");
    const later = await conversation(api, "later");
    const vip = await conversation(api, "vip");

    await post(api, running);
    await waitFor(async () => ((await queueOrder(api)).length === 0 ? true : undefined));
    await post(api, plain2);
    await post(api, plain3);
    await post(api, later);
    await post(api, vip);
    await waitFor(
      async () => ((await queueOrder(api)).length === 4 ? true : undefined),
      10_000,
      "four waiters",
    );
    expect(await queueOrder(api)).toEqual([vip, plain2, plain3, later]);
    const snapshot = await (await api.client.providers.$get()).json();
    expect(snapshot.providers[0]?.inFlight).toBe(1);
    expect(snapshot.providers[0]?.queue[0]?.starred).toBe(true);

    // Starring "later" moves its waiter ahead of every unstarred one, and ahead of the younger starred one.
    await api.client.workspaces[":id"].star.$put({ param: { id: "later" } });
    expect(await queueOrder(api)).toEqual([later, vip, plain2, plain3]);
    // Unstarring puts it back in promptStartedAt order.
    await api.client.workspaces[":id"].star.$delete({ param: { id: "later" } });
    expect(await queueOrder(api)).toEqual([vip, plain2, plain3, later]);
    await api.client.workspaces[":id"].star.$put({ param: { id: "later" } });

    // The grant order is what the queue showed: record who runs after whom.
    const ran: string[] = [];
    await waitFor(
      async () => {
        for (const id of [later, vip, plain2, plain3]) {
          if (ran.includes(id)) continue;
          const conv = await (await api.client.conversations[":id"].$get({ param: { id } })).json();
          if (conv.status === "running" || conv.status === "completed") ran.push(id);
        }
        return ran.length === 4 ? true : undefined;
      },
      30_000,
      "all turns to run",
    );
    expect(ran).toEqual([later, vip, plain2, plain3]);
  } finally {
    await api.stop();
  }
});
