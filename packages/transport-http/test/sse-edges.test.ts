import { Database } from "bun:sqlite";
import { afterEach, beforeEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { databaseFileName } from "@dispatch/conversation-store";
import { type ApiHarness, slowScripted, startApi, waitFor } from "./harness.ts";

/** Uncaught exceptions and unhandled rejections seen while a test runs (the host counts them as faults). */
let uncaught: unknown[] = [];
const record = (error: unknown) => uncaught.push(error);
beforeEach(() => {
  uncaught = [];
  process.on("uncaughtException", record);
  process.on("unhandledRejection", record);
});
afterEach(() => {
  process.off("uncaughtException", record);
  process.off("unhandledRejection", record);
});

/** The whole SSE body as text, read until the server ends it. */
async function readAll(response: Response): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of response.body as ReadableStream<Uint8Array>) text += decoder.decode(chunk);
  return text;
}

async function newConversation(api: ApiHarness): Promise<string> {
  const res = await api.fetch("/workspaces/default/conversations", { method: "POST" });
  return ((await res.json()) as { id: string }).id;
}

async function sseClients(api: ApiHarness): Promise<number> {
  const health = (await (await api.fetch("/health")).json()) as {
    extensions: Array<{ id: string; health?: { sseClients?: number } }>;
  };
  return health.extensions.find((e) => e.id === "transport-http")?.health?.sseClients ?? -1;
}

test("a stream tells EventSource how long to wait before reconnecting (retry:)", async () => {
  const api = await startApi();
  try {
    const id = await newConversation(api);
    const res = await api.fetch(`/conversations/${id}/events`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^retry: \d+$/m);
    await reader.cancel();
  } finally {
    await api.stop();
  }
});

test("a subscription whose replay fails closes its client once; heartbeats go on for the others, nothing escapes", async () => {
  const api = await startApi({ server: { heartbeatMs: 10 } });
  try {
    const id = await newConversation(api);
    const healthy = await api.fetch(`/conversations/${id}/events`);
    const healthyReader = (healthy.body as ReadableStream<Uint8Array>).getReader();
    // Another connection to the same database takes the event log away: the next replay read fails.
    const db = new Database(join(api.testHost.dataDir, databaseFileName));
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("ALTER TABLE events RENAME TO events_gone");
    try {
      const failing = await api.fetch(`/conversations/${id}/events?after=0`);
      expect(failing.status).toBe(200);
      const body = await readAll(failing);
      expect(body).toContain(": closed replay_failed");
      expect(body.match(/: closed /g)).toHaveLength(1);
      // Many heartbeats later the healthy client still gets them, and only it is counted.
      let beats = 0;
      const decoder = new TextDecoder();
      while (beats < 20) {
        const chunk = await healthyReader.read();
        if (chunk.done) throw new Error("the healthy stream ended");
        beats += (decoder.decode(chunk.value).match(/: heartbeat/g) ?? []).length;
      }
      expect(await sseClients(api)).toBe(1);
      expect(api.testHost.host.status().faults.total).toBe(0);
      expect(uncaught.map(String)).toEqual([]);
    } finally {
      db.exec("ALTER TABLE events_gone RENAME TO events");
      db.close();
      await healthyReader.cancel();
    }
  } finally {
    await api.stop();
  }
});

test("at shutdown, live clients get the turn's turn.interrupted, then a clean end of the stream", async () => {
  const api = await startApi(slowScripted(1, 400, 25));
  const id = await newConversation(api);
  const posted = await api.fetch(`/conversations/${id}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: "go" }),
  });
  const { turnId } = (await posted.json()) as { turnId: string };
  const res = await api.fetch(`/conversations/${id}/events`);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes('"type":"text.delta"')) {
    const chunk = await reader.read();
    if (chunk.done) throw new Error(`the stream ended early: ${text}`);
    text += decoder.decode(chunk.value);
  }
  const stopping = api.stop();
  // The stream must end normally (done, not an error) after the final event.
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    text += decoder.decode(chunk.value);
  }
  await stopping;
  const events = [...text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1] as string));
  expect(events.at(-1)).toMatchObject({
    type: "turn.interrupted",
    turnId,
    data: { reason: "host shutting down" },
  });
  expect(text.trimEnd().endsWith(": closed shutdown")).toBe(true);
});

/** The server-side state of the TCP connection to `client` (from /proc/net/tcp), or `gone`. */
function serverSideState(serverPort: number, client: Socket): string {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, "0");
  const local = `:${hex(serverPort)}`;
  const remote = `:${hex(client.localPort as number)}`;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const [, localAddress, remoteAddress, state] = line.trim().split(/\s+/);
      if (localAddress?.endsWith(local) && remoteAddress?.endsWith(remote)) {
        return state === "01" ? "established" : `state ${state}`;
      }
    }
  }
  return "gone";
}

test("a client that never reads is dropped as slow_consumer and its connection is closed", async () => {
  // 6 MiB of text: far more than the socket buffers hold, in ~1,500 coalesced text.delta events.
  const chunk = "z".repeat(64 * 1024);
  const api = await startApi({
    server: { heartbeatMs: 20, sseBufferEvents: 50 },
    providers: [
      {
        id: "scripted",
        kind: "scripted",
        maxConcurrent: 1,
        script: { replies: [], fallback: { steps: [{ text: chunk.repeat(96), chunks: 96 }] } },
      },
    ],
  });
  const port = Number(new URL(api.url).port);
  const socket = connect(port, "127.0.0.1");
  try {
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.on("error", () => {});
    const id = await newConversation(api);
    socket.write(`GET /conversations/${id}/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    socket.pause(); // and never read
    await waitFor(async () => ((await sseClients(api)) === 1 ? true : undefined), 10_000, "the stream");
    await api.fetch(`/conversations/${id}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "flood" }),
    });
    await waitFor(async () => ((await sseClients(api)) === 0 ? true : undefined), 20_000, "the drop");
    // The server ends the connection itself, although the client still has not read a byte.
    await waitFor(
      async () => (serverSideState(port, socket) === "established" ? undefined : true),
      20_000,
      "the server to close the connection",
    );
    expect(uncaught.map(String)).toEqual([]);
  } finally {
    socket.destroy();
    await api.stop();
  }
}, 60_000);
