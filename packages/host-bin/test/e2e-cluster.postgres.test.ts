import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { createTestDatabase, type TestDatabase } from "@dispatch/conversation-store/testing";
import { type Scenario, startOpenAITestServer, type WireTestServer } from "@dispatch/providers/testing";
import type { Task } from "@dispatch/wire";
import { SQL } from "bun";
import { apiClient, readEvents, startTurn, waitForTurnEnd } from "./api-client.ts";
import { cleanup, type DispatchProcess, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";

// DESIGN §17 through the real binary: two `dispatch serve` processes on one PostgreSQL database.

setDefaultTimeout(240_000);
let server: WireTestServer | undefined;
const databases: TestDatabase[] = [];
afterEach(async () => {
  cleanup();
  await server?.stop();
  server = undefined;
  for (const database of databases.splice(0)) await database.drop();
});

/** A provider on the local OpenAI-compatible test server, which counts concurrent requests. */
function clusterConfig(url: string, wire: WireTestServer, extra: Record<string, unknown> = {}) {
  return {
    store: { url },
    cluster: { instanceTimeoutMs: 3_000, heartbeatMs: 300 },
    providers: [
      { id: "fake", kind: "openai-compatible", baseURL: wire.baseURL, models: ["m"], maxConcurrent: 2 },
    ],
    defaults: { provider: "fake", model: "m" },
    ...extra,
  };
}

/** A text answer in `pieces` parts, `delayMs` apart (a slow scripted stream). */
function slowText(pieces: number, delayMs: number): Scenario {
  return {
    stream: Array.from({ length: pieces }, (_, i) => [{ text: `part ${i} ` }, { delayMs }]).flat(),
  };
}

async function twoHosts(
  config: Record<string, unknown>,
): Promise<[DispatchProcess, string, DispatchProcess, string]> {
  const file = writeConfig(tempDir(), config);
  const a = serveProcess({ config: file }).child;
  const urlA = await a.url();
  const b = serveProcess({ config: file }).child;
  const urlB = await b.url();
  return [a, urlA, b, urlB];
}

async function database(): Promise<string> {
  const made = await createTestDatabase();
  databases.push(made);
  return made.url;
}

async function queueOf(url: string): Promise<Array<string | null>> {
  const body = await (await apiClient(url).providers.$get()).json();
  return body.providers.find((p) => p.id === "fake")?.queue.map((w) => w.conversationId) ?? [];
}

test("20 turns across two hosts never run more than maxConcurrent (2) streams at once, cluster-wide", async () => {
  server = startOpenAITestServer();
  server.setResponder(() => slowText(4, 80));
  const [a, urlA, b, urlB] = await twoHosts(clusterConfig(await database(), server));
  const started = await Promise.all(
    Array.from({ length: 20 }, (_, i) => {
      const url = i % 2 === 0 ? urlA : urlB;
      return startTurn(url, "default", `turn ${i}`).then((id) => ({ id, url }));
    }),
  );
  for (const { id, url } of started) expect(await waitForTurnEnd(url, id, 120_000)).toBe("completed");
  // an SSE client on host B follows, live, a turn that runs on host A
  const followed = (
    await (
      await apiClient(urlA).workspaces[":id"].conversations.$post({ param: { id: "default" }, json: {} })
    ).json()
  ).id;
  const onB = readEvents(urlB, followed, (events) => events.some((e) => e.type === "turn.completed"));
  await Bun.sleep(200); // let the SSE request reach B before the turn starts (the test holds either way)
  await apiClient(urlA).conversations[":id"].messages.$post({
    param: { id: followed },
    json: { text: "followed" },
  });
  const seen = await onB;
  expect(seen.map((e) => e.seq)).toEqual(seen.map((_, i) => i + 1));
  expect(seen.at(-1)?.type).toBe("turn.completed");
  expect(server.requests.length).toBe(21);
  // the limit was reached (so the test could see a breach) and never passed
  expect(server.maxInFlight).toBe(2);
  // each host sees the turns the other ran, from the shared store
  const conv = await (
    await apiClient(urlB).conversations[":id"].$get({ param: { id: started[0]?.id as string } })
  ).json();
  expect(conv.status).toBe("completed");
  for (const child of [a, b]) {
    child.proc.kill("SIGTERM");
    expect(await child.exitWithin(15_000)).toBe(0);
  }
});

test("starring a workspace on host A moves its waiters on host B ahead, and B grants them first", async () => {
  server = startOpenAITestServer();
  let release: () => void = () => {};
  const holding = new Promise<void>((resolve) => {
    release = resolve;
  });
  server.setResponder((request) => {
    const body = JSON.stringify(request.body);
    // two calls hold both slots until the test lets them go
    if (body.includes("hold the slot"))
      return { stream: [{ text: "holding " }, { gate: holding }, { text: "done" }] };
    return slowText(2, 20);
  });
  const [a, urlA, b, urlB] = await twoHosts(clusterConfig(await database(), server));
  const client = apiClient(urlA);
  for (const id of ["plain", "vip"]) await client.workspaces.$post({ json: { id } });
  const holders = [
    await startTurn(urlA, "default", "hold the slot 1"),
    await startTurn(urlA, "default", "hold the slot 2"),
  ];
  await server.waitForRequest(1);
  const plain = await startTurn(urlB, "plain", "plain waiter");
  while ((await queueOf(urlB)).length < 1) await Bun.sleep(20);
  const vip = await startTurn(urlB, "vip", "vip waiter");
  while ((await queueOf(urlB)).length < 2) await Bun.sleep(20);
  expect(await queueOf(urlB)).toEqual([plain, vip]);

  const starredAt = performance.now();
  await client.workspaces[":id"].star.$put({ param: { id: "vip" } });
  while ((await queueOf(urlB))[0] !== vip) await Bun.sleep(10);
  const movedMs = Math.round(performance.now() - starredAt);
  console.log(`the star on host A reordered host B's queue after ${movedMs} ms`);
  expect(await queueOf(urlB)).toEqual([vip, plain]);

  release();
  for (const id of [...holders, plain, vip])
    expect(await waitForTurnEnd(id === plain || id === vip ? urlB : urlA, id, 60_000)).toBe("completed");
  // the first call after the holders is the vip one
  const after = server.requests.slice(2).map((r) => JSON.stringify(r.body));
  expect(after[0]).toContain("vip waiter");
  expect(after[1]).toContain("plain waiter");
  expect(server.maxInFlight).toBe(2);
  for (const child of [a, b]) {
    child.proc.kill("SIGTERM");
    expect(await child.exitWithin(15_000)).toBe(0);
  }
});

async function task(url: string, id: string): Promise<Task> {
  const res = await fetch(`${url}/tasks/${id}`);
  if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`);
  return (await res.json()) as Task;
}

async function waitForTask(
  url: string,
  id: string,
  done: (t: Task) => boolean,
  timeoutMs = 60_000,
): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await task(url, id);
    if (done(current)) return current;
    if (Date.now() > deadline)
      throw new Error(`task ${id} is still ${current.status}: ${JSON.stringify(current)}`);
    await Bun.sleep(50);
  }
}

test("kill -9 of host A with turns running and tasks claimed: host B takes them over, no task runs twice at once, none is lost", async () => {
  const url = await database();
  server = startOpenAITestServer();
  let aAlive = true;
  // while A lives its calls hang (it is mid-turn when killed); afterwards calls answer quickly
  server.setResponder(() => (aAlive ? { stream: [{ text: "working " }, { hang: true }] } : slowText(2, 20)));
  const config = writeConfig(
    tempDir(),
    clusterConfig(url, server, { tasks: { tickMs: 100, maxRunning: 2 } }),
  );
  const a = serveProcess({ config }).child;
  const urlA = await a.url();
  const post = async (spec: string): Promise<Task> => {
    const res = await fetch(`${urlA}/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ workspaceId: "default", spec }),
    });
    return (await res.json()) as Task;
  };
  const tasks = [await post("task one"), await post("task two")];
  for (const t of tasks)
    await waitForTask(urlA, t.id, (x) => x.status === "running" && x.attempts[0]?.turnId !== null);
  // both slots are held by the tasks' calls; this plain turn waits for one, on A
  const plain = await startTurn(urlA, "default", "a plain turn");
  await server.waitForRequest(1);
  const health = (await (await fetch(`${urlA}/health`)).json()) as {
    extensions: Array<{ id: string; health?: { instanceId?: string } }>;
  };
  const instanceA = health.extensions.find((e) => e.id === "conversation-store")?.health?.instanceId;
  expect(instanceA).toMatch(/^i_/);

  const b = serveProcess({ config }).child;
  const urlB = await b.url();
  a.proc.kill("SIGKILL");
  await a.exited;
  aAlive = false;

  for (const t of tasks) {
    const done = await waitForTask(urlB, t.id, (x) => x.status === "completed", 90_000);
    expect(done.attempts.map((x) => x.status)).toEqual(["interrupted", "completed"]);
    const [first, second] = done.attempts;
    // the second attempt began only after the first was closed: never two at once
    expect(Date.parse(second?.startedAt as string)).toBeGreaterThanOrEqual(
      Date.parse(first?.endedAt as string),
    );
  }
  expect(await waitForTurnEnd(urlB, plain, 60_000)).toBe("interrupted");
  const peek = new SQL(url, { max: 1 });
  try {
    const [held] =
      await peek`select count(*)::int as n from provider_concurrency_leases where instance_id = ${instanceA as string}`;
    expect(held?.n).toBe(0);
    const [row] = await peek`select dead_at from cluster_instances where id = ${instanceA as string}`;
    expect(row?.dead_at).not.toBeNull();
  } finally {
    await peek.close();
  }
  expect(server.maxInFlight).toBeLessThanOrEqual(2);
  b.proc.kill("SIGTERM");
  expect(await b.exitWithin(15_000)).toBe(0);
});
