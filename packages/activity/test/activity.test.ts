import { afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { conversationStoreExtension } from "@dispatch/conversation-store";
import { type AnyExtension, defineExtension } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { providersExtension } from "@dispatch/providers";
import { sessionOrchestratorExtension } from "@dispatch/session-orchestrator";
import { tasksExtension } from "@dispatch/tasks";
import { httpServerRef, transportHttpExtension } from "@dispatch/transport-http";
import { sseMessages } from "@dispatch/transport-http/testing";
import type { ActivityEntry, ActivityList } from "@dispatch/wire";
import { workspaceToolsExtension } from "@dispatch/workspace-tools";
import { activityExtension } from "../src/extension.ts";
import { activityRef, activitySourcesPoint, defineActivitySource } from "../src/index.ts";

declare module "@dispatch/kernel" {
  interface DispatchEvents {
    /** Published by the tests' `pinger` extension only. */
    "test.ping": { n: number; pad?: string };
  }
}

const builtins: AnyExtension[] = [
  conversationStoreExtension,
  providerConcurrencyExtension,
  providersExtension,
  sessionOrchestratorExtension,
  workspaceToolsExtension,
  transportHttpExtension,
  tasksExtension,
  activityExtension,
];

/** An outside extension adding `test.ping` events to the feed (with `pad` in their data), and throwing on n = 13. */
const pinger = defineExtension({
  manifest: { id: "pinger", version: "1.0.0", extends: ["activity"] },
  register(reg) {
    reg.contribute(
      activitySourcesPoint,
      defineActivitySource("test.ping", ({ n, pad }) => {
        if (n === 13) throw new Error("unlucky");
        return n % 2 === 0
          ? { type: "test.ping", summary: `ping ${n}`, data: { n, ...(pad ? { pad } : {}) } }
          : undefined;
      }),
    );
  },
  activate() {},
});

let host: TestHost | undefined;
afterEach(async () => {
  await host?.stop();
  host = undefined;
});

async function start(config: Record<string, unknown> = {}, extra: AnyExtension[] = []) {
  host = await createTestHost({
    extensions: [...builtins, ...extra],
    config: { server: { port: 0 }, ...config },
  });
  const address = host.get(httpServerRef).address()!;
  const url = `http://127.0.0.1:${address.port}`;
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, { ...init, headers: { "Content-Type": "application/json", ...init.headers } });
  const list = async (query = "") => (await (await call(`/activity${query}`)).json()) as ActivityList;
  return { host, url, call, list };
}

/** Reads entries of `GET /activity/stream` until `count` arrived. */
async function readStream(url: string, count: number, headers: Record<string, string> = {}, query = "") {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  const res = await fetch(`${url}/activity/stream${query}`, { headers, signal: controller.signal });
  const entries: ActivityEntry[] = [];
  try {
    if (count === 0) return { res, entries };
    for await (const { data } of sseMessages(res.body as ReadableStream<Uint8Array>)) {
      entries.push(JSON.parse(data) as ActivityEntry);
      if (entries.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { res, entries };
}

test("stars, workspaces, turns started and finished, and tasks become entries, newest first", async () => {
  const api = await start({
    providers: [
      {
        id: "scripted",
        kind: "scripted",
        maxConcurrent: 1,
        script: { replies: [], fallback: { steps: [{ text: "hi" }] } },
      },
    ],
  });
  await api.call("/workspaces", { method: "POST", body: JSON.stringify({ id: "docs", name: "Docs" }) });
  await api.call("/workspaces/docs/star", { method: "PUT" });
  await api.call("/workspaces/docs/star", { method: "PUT" }); // already starred: no entry
  await api.call("/workspaces/docs/star", { method: "DELETE" });
  const conv = (await (
    await api.call("/workspaces/docs/conversations", { method: "POST", body: "{}" })
  ).json()) as {
    id: string;
  };
  await api.call(`/conversations/${conv.id}/messages`, {
    method: "POST",
    body: JSON.stringify({ text: "hello" }),
  });
  const deadline = Date.now() + 10_000;
  while (!(await api.list()).entries.some((e) => e.type === "turn.finished") && Date.now() < deadline) {
    await Bun.sleep(20);
  }
  const task = (await (
    await api.call("/tasks", {
      method: "POST",
      body: JSON.stringify({ workspaceId: "docs", spec: "x", title: "T1" }),
    })
  ).json()) as { id: string };
  while (!(await api.list()).entries.some((e) => e.type === "task.completed") && Date.now() < deadline) {
    await Bun.sleep(20);
  }

  const { entries, lastId } = await api.list();
  expect(lastId).toBe(entries[0]!.id);
  const ours = entries.filter((e) => e.workspaceId === "docs").reverse();
  const types = ours.map((e) => e.type);
  expect(types.slice(0, 5)).toEqual([
    "workspace.created",
    "workspace.starred",
    "workspace.unstarred",
    "turn.started",
    "turn.finished",
  ]);
  expect(types).toContain("task.created");
  expect(types).toContain("task.completed");
  const started = ours[3]!;
  // turn.started knows only its conversation: the feed filled in the workspace.
  expect(started).toMatchObject({ source: "activity", conversationId: conv.id, workspaceId: "docs" });
  expect(ours[4]).toMatchObject({
    summary: "turn completed",
    data: { status: "completed" },
    turnId: started.turnId,
  });
  expect(ours.find((e) => e.type === "task.created")).toMatchObject({
    taskId: task.id,
    summary: 'task "T1" created',
  });
  expect(ours[1]?.summary).toBe('workspace "Docs" starred');
  // Ids count up, newest first.
  const numbers = entries.map((e) => Number(e.id.split(".")[1]));
  expect(numbers).toEqual([...numbers].sort((a, b) => b - a));
});

test("GET /activity holds at most 100, takes limit 1..100, and answers a copy", async () => {
  const api = await start({}, [pinger]);
  for (let n = 0; n < 260; n += 2) api.host.host.bus.publish("test.ping", { n });
  const all = await api.list();
  expect(all.entries.length).toBe(100);
  expect(all.entries[0]?.summary).toBe("ping 258");
  expect((await api.list("?limit=3")).entries.map((e) => e.summary)).toEqual([
    "ping 258",
    "ping 256",
    "ping 254",
  ]);
  for (const bad of ["0", "101", "x"]) expect((await api.call(`/activity?limit=${bad}`)).status).toBe(400);
  const service = api.host.get(activityRef);
  const [newest] = service.latest(1);
  newest!.summary = "changed";
  expect(service.latest(1)[0]?.summary).toBe("ping 258");
});

test("another extension's source adds entries under its id; one that throws is skipped and counted", async () => {
  const api = await start({}, [pinger]);
  const bus = api.host.host.bus;
  bus.publish("test.ping", { n: 1 }); // odd: the source returns nothing
  bus.publish("test.ping", { n: 2 });
  bus.publish("test.ping", { n: 13 });
  bus.publish("test.ping", { n: 4 });
  const pings = (await api.list()).entries.filter((e) => e.type === "test.ping");
  expect(pings.map((e) => [e.summary, e.source])).toEqual([
    ["ping 4", "pinger"],
    ["ping 2", "pinger"],
  ]);
  const status = api.host.host.status().extensions.find((e) => e.id === "activity");
  expect(status?.faults).toBe(1);
  expect(
    api.host.logs.some(
      (r) => r.msg === "an activity source threw; the event is skipped" && r.source === "pinger",
    ),
  ).toBe(true);
});

test("the stream sends new entries live, resumes after Last-Event-ID with no gap or duplicate, and ?after= too", async () => {
  const api = await start({}, [pinger]);
  const bus = api.host.host.bus;
  bus.publish("test.ping", { n: 2 });
  const { lastId } = await api.list();

  // Live only, without a resume point: entries from before the stream opened are not sent.
  const live = readStream(api.url, 2);
  await waitFor(() => streamsOpen(api.host!) === 1);
  bus.publish("test.ping", { n: 4 });
  bus.publish("test.ping", { n: 6 });
  const first = await live;
  expect(first.entries.map((e) => e.summary)).toEqual(["ping 4", "ping 6"]);

  // Resumed after the first of those: exactly what came after it, then live.
  const resumed = readStream(api.url, 3, { "Last-Event-ID": first.entries[0]!.id });
  await waitFor(() => streamsOpen(api.host!) === 1);
  bus.publish("test.ping", { n: 8 });
  bus.publish("test.ping", { n: 10 });
  expect((await resumed).entries.map((e) => e.summary)).toEqual(["ping 6", "ping 8", "ping 10"]);

  // From the id GET /activity answered before any of them: all four, and ping 2 (before it) not.
  const viaQuery = await readStream(api.url, 4, {}, `?after=${lastId}`);
  expect(viaQuery.entries.map((e) => e.summary)).toEqual(["ping 4", "ping 6", "ping 8", "ping 10"]);
});

test("an id from an earlier host process resumes from everything kept; a malformed one is a 400", async () => {
  const api = await start({}, [pinger]);
  api.host.host.bus.publish("test.ping", { n: 2 });
  const { entries } = await readStream(api.url, 1, { "Last-Event-ID": "zzzzzz.999" });
  expect(entries.map((e) => e.summary)).toEqual(["ping 2"]);
  const bad = await fetch(`${api.url}/activity/stream?after=17`);
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
});

test("a client that stops reading is dropped once its backlog passes maxBuffered; nothing is kept for it", async () => {
  const api = await start({ activity: { maxBuffered: 5 } }, [pinger]);
  const controller = new AbortController();
  const res = await fetch(`${api.url}/activity/stream`, { signal: controller.signal });
  await waitFor(() => streamsOpen(api.host!) === 1);
  for (let n = 0; n < 40; n += 2) api.host.host.bus.publish("test.ping", { n });
  await waitFor(() => streamsOpen(api.host!) === 0);
  const text = await res.text();
  expect(text).toContain(": closed slow_consumer");
  controller.abort();
});

test("a client that never reads is dropped and the server closes its connection", async () => {
  const api = await start({ activity: { maxBuffered: 20, heartbeatMs: 20 } }, [pinger]);
  const port = Number(new URL(api.url).port);
  const socket = connect(port, "127.0.0.1");
  try {
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.on("error", () => {});
    socket.write(`GET /activity/stream HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    socket.pause(); // and never read
    await waitFor(() => streamsOpen(api.host!) === 1);
    // 8 MiB of entries: far more than the socket buffers hold.
    const pad = "z".repeat(64 * 1024);
    for (let n = 0; n < 256; n += 2) api.host.host.bus.publish("test.ping", { n, pad });
    await waitFor(() => streamsOpen(api.host!) === 0, 10_000);
    await waitFor(() => serverSideState(port, socket) !== "established", 20_000);
  } finally {
    socket.destroy();
  }
});

/** The server-side state of the TCP connection to `client` (from /proc/net/tcp), or `gone`. */
function serverSideState(serverPort: number, client: Socket): string {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const [, local, remote, state] = line.trim().split(/\s+/);
      if (local?.endsWith(`:${hex(serverPort)}`) && remote?.endsWith(`:${hex(client.localPort as number)}`)) {
        return state === "01" ? "established" : `state ${state}`;
      }
    }
  }
  return "gone";
}

test("shutdown ends open streams and leaves no listener behind", async () => {
  const api = await start({}, [pinger]);
  const res = await fetch(`${api.url}/activity/stream`);
  await waitFor(() => streamsOpen(api.host!) === 1);
  const body = res.text();
  await api.host.stop();
  host = undefined;
  expect(await body).toContain(": closed shutdown");
});

function streamsOpen(test: TestHost): number {
  const health = test.host.status().extensions.find((e) => e.id === "activity")?.health as
    | { streams: number }
    | undefined;
  return health?.streams ?? -1;
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await Bun.sleep(5);
  }
}
