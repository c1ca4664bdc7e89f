import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { startOpenAITestServer, textScenario, type WireTestServer } from "@dispatch/providers/testing";
import type { Task } from "@dispatch/wire";
import { waitForTurnEnd } from "./api-client.ts";
import { cleanup, DispatchProcess, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";

setDefaultTimeout(120_000);
let server: WireTestServer | undefined;
afterEach(async () => {
  cleanup();
  await server?.stop();
  server = undefined;
});

/** A scripted provider whose replies stall on "stall" and take a while on "slow". */
const scripted = {
  id: "scripted",
  kind: "scripted",
  maxConcurrent: 4,
  script: {
    replies: [
      { when: "^stall", steps: [{ text: "thinking hard", chunks: 2, delayMs: 60_000 }] },
      { when: "^slow", steps: [{ text: "slowly done", chunks: 20, delayMs: 500 }] },
    ],
    fallback: { steps: [{ text: "Task done.", chunks: 2 }] },
  },
};

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

async function addTask(url: string, body: Record<string, unknown>): Promise<Task> {
  return json<Task>(
    await fetch(`${url}/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ workspaceId: "default", ...body }),
    }),
  );
}

async function getTask(url: string, id: string): Promise<Task> {
  return json<Task>(await fetch(`${url}/tasks/${id}`));
}

/** Polls a task until `done` says so (bounded). */
async function waitForTask(
  url: string,
  id: string,
  done: (task: Task) => boolean,
  timeoutMs = 30_000,
): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await getTask(url, id);
    if (done(task)) return task;
    if (Date.now() > deadline) throw new Error(`task ${id} is still ${task.status}: ${JSON.stringify(task)}`);
    await Bun.sleep(50);
  }
}

test("a task runs as a headless conversation and completes", async () => {
  const config = writeConfig(tempDir(), { providers: [scripted], tasks: { tickMs: 50 } });
  const { child } = serveProcess({ config });
  const url = await child.url();
  const task = await addTask(url, { spec: "Write the release notes\nfor 1.2", priority: 5 });
  expect(task).toMatchObject({ status: "queued", title: "Write the release notes", priority: 5, attempt: 0 });
  const done = await waitForTask(url, task.id, (t) => t.status === "completed");
  expect(done.attempts).toHaveLength(1);
  expect(done.attempts[0]).toMatchObject({ n: 1, status: "completed" });
  const conversationId = done.attempts[0]?.conversationId as string;
  const conversation = await json<{ title: string; status: string }>(
    await fetch(`${url}/conversations/${conversationId}`),
  );
  expect(conversation).toMatchObject({ title: "Write the release notes (attempt 1)", status: "completed" });
  const list = await json<{ tasks: Task[]; nextCursor: string | null }>(
    await fetch(`${url}/tasks?status=completed`),
  );
  expect(list.tasks.map((t) => t.id)).toEqual([task.id]);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(metrics).toContain('dispatch_task_attempts_total{outcome="completed"} 1');
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});

test("a provider failing with 503 twice is retried after the backoff, then the task completes", async () => {
  server = startOpenAITestServer();
  const unavailable = { status: 503, error: { type: "server_error", message: "try later" } };
  server.enqueue(unavailable, unavailable, textScenario("third time lucky", 2));
  const config = writeConfig(tempDir(), {
    providers: [
      // the provider's own retries off, so each 503 fails the attempt
      { id: "local", kind: "openai-compatible", baseURL: server.baseURL, models: ["tiny"], maxAttempts: 1 },
    ],
    defaults: { provider: "local", model: "tiny" },
    tasks: { tickMs: 50, retryBackoffMs: [300, 600], maxAttempts: 3 },
  });
  const { child } = serveProcess({ config });
  const url = await child.url();
  const task = await addTask(url, { spec: "flaky provider" });
  const retrying = await waitForTask(
    url,
    task.id,
    (t) => t.attempts[0]?.status === "failed" && t.status === "queued",
  );
  // the backoff shows in nextRunAt
  const failedAt = Date.parse(retrying.attempts[0]?.endedAt as string);
  expect(Date.parse(retrying.nextRunAt as string) - failedAt).toBeGreaterThanOrEqual(300);
  expect(retrying.lastError).toContain("try later");
  const done = await waitForTask(url, task.id, (t) => t.status === "completed");
  expect(done.attempts.map((a) => a.status)).toEqual(["failed", "failed", "completed"]);
  expect(
    Date.parse(done.attempts[2]?.startedAt as string) - Date.parse(done.attempts[1]?.endedAt as string),
  ).toBeGreaterThanOrEqual(600);
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});

test("an attempt that stops sending heartbeats becomes stuck, is stopped, and the task is retried", async () => {
  const config = writeConfig(tempDir(), {
    providers: [scripted],
    tasks: { tickMs: 50, stuckAfterMs: 400, stuckGraceMs: 100, retryBackoffMs: [200], maxAttempts: 2 },
  });
  const { child } = serveProcess({ config });
  const url = await child.url();
  const task = await addTask(url, { spec: "stall forever" });
  const stuck = await waitForTask(url, task.id, (t) => t.attempts[0]?.status === "stuck");
  expect(["stuck", "running"]).toContain(stuck.status);
  expect(stuck.attempts[0]?.error).toContain("no heartbeat");
  // the stuck attempt's turn is cancelled, not left running: the scheduler records the attempt as
  // stuck first and then cancels its turn (so a cancel that hangs cannot keep it from being
  // recorded), so the turn ends a moment after the attempt shows stuck
  expect(await waitForTurnEnd(url, stuck.attempts[0]?.conversationId as string)).toBe("cancelled");
  const final = await waitForTask(url, task.id, (t) => t.status === "failed");
  expect(final.attempts.map((a) => a.status)).toEqual(["stuck", "stuck"]);
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});

test("kill -9 with two tasks running: after a restart both have an interrupted attempt and run again", async () => {
  const dir = tempDir();
  const dataDir = tempDir();
  const config = writeConfig(dir, { providers: [scripted], tasks: { tickMs: 50, maxRunning: 2 } });
  const first = new DispatchProcess(["serve", "--data-dir", dataDir, "--port", "0", "--config", config]);
  const url = await first.url();
  const a = await addTask(url, { spec: "slow a" });
  const b = await addTask(url, { spec: "slow b" });
  await waitForTask(url, a.id, (t) => t.status === "running" && t.attempts[0]?.conversationId !== null);
  await waitForTask(url, b.id, (t) => t.status === "running" && t.attempts[0]?.conversationId !== null);
  first.proc.kill("SIGKILL");
  await first.exited;

  const second = new DispatchProcess(["serve", "--data-dir", dataDir, "--port", "0", "--config", config]);
  const again = await second.url();
  for (const task of [a, b]) {
    const done = await waitForTask(again, task.id, (t) => t.status === "completed");
    expect(done.attempts.map((x) => x.status)).toEqual(["interrupted", "completed"]);
  }
  second.proc.kill("SIGTERM");
  expect(await second.exitWithin(10_000)).toBe(0);
});

test("past tasks.maxQueued a new task gets 429 queue_full", async () => {
  // a day-long cooldown keeps everything after the first start queued
  const config = writeConfig(tempDir(), {
    providers: [scripted],
    tasks: { maxQueued: 10_000, cooldownMs: 86_400_000 },
  });
  const { child } = serveProcess({ config });
  const url = await child.url();
  await addTask(url, { spec: "slow first" });
  let created = 1;
  const post = () =>
    fetch(`${url}/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ workspaceId: "default", spec: "x" }),
    });
  while (created < 10_001) {
    const batch = Math.min(50, 10_001 - created);
    const answers = await Promise.all(Array.from({ length: batch }, post));
    for (const res of answers) expect(res.status).toBe(201);
    created += batch;
  }
  const refused = await post();
  expect(refused.status).toBe(429);
  expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("queue_full");
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});
