import { afterEach, expect, test } from "bun:test";
import { conversationStoreExtension, conversationStoreRef } from "@dispatch/conversation-store";
import { defineExtension } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { providersExtension } from "@dispatch/providers";
import { sessionOrchestratorExtension } from "@dispatch/session-orchestrator";
import { httpServerRef, transportHttpExtension } from "@dispatch/transport-http";
import type { Task } from "@dispatch/wire";
import { tasksExtension } from "../src/extension.ts";
import {
  type AttemptEnd,
  type AttemptVerdict,
  type TasksService,
  taskHooksPoint,
  tasksRef,
} from "../src/task-hooks.ts";

/** What the test hooks do and saw; reset per test. */
const behaviour = {
  before: (_n: number): AttemptVerdict | undefined => undefined,
  after: (_n: number): AttemptVerdict | undefined => undefined,
  calls: [] as string[],
  /** The task as each attempt's attemptEnded saw it, right after that attempt was filed. */
  filed: new Map<number, Task | undefined>(),
};

let tasksService: TasksService | undefined;
const hooksExtension = defineExtension({
  manifest: { id: "hooks-test", version: "1.0.0", dependsOn: ["tasks"], extends: ["tasks"] },
  consumes: [tasksRef],
  register(reg) {
    reg.contribute(taskHooksPoint, {
      id: "hooks-test",
      beforeTurn: async ({ n }) => {
        behaviour.calls.push(`before ${n}`);
        return behaviour.before(n);
      },
      afterTurn: async ({ n, turnId }) => {
        behaviour.calls.push(`after ${n} ${turnId.length > 0}`);
        return behaviour.after(n);
      },
      attemptEnded: async ({ n, outcome, task }) => {
        behaviour.calls.push(`ended ${n} ${outcome}`);
        // patched after the attempt was filed: a result written by the filing would overwrite it
        behaviour.filed.set(n, await tasksService?.patchResult(task.id, { [`ended${n}`]: outcome }));
      },
    });
  },
  activate(ctx) {
    tasksService = ctx.use(tasksRef);
  },
});

let host: TestHost | undefined;
afterEach(async () => {
  await host?.stop();
  host = undefined;
  behaviour.before = () => undefined;
  behaviour.after = () => undefined;
  behaviour.calls = [];
  behaviour.filed = new Map();
});

async function start(): Promise<string> {
  host = await createTestHost({
    extensions: [
      conversationStoreExtension,
      providerConcurrencyExtension,
      providersExtension,
      sessionOrchestratorExtension,
      transportHttpExtension,
      tasksExtension,
      hooksExtension,
    ],
    config: {
      server: { port: 0 },
      providers: [
        {
          id: "scripted",
          kind: "scripted",
          maxConcurrent: 2,
          script: { fallback: { steps: [{ text: "ok" }] } },
        },
      ],
      tasks: { tickMs: 20, retryBackoffMs: [200], maxAttempts: 2 },
    },
  });
  const address = host.get(httpServerRef).address();
  if (address === undefined) throw new Error("the server is not listening");
  return `http://${address.host}:${address.port}`;
}

async function addTask(url: string): Promise<Task> {
  const res = await fetch(`${url}/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ workspaceId: "default", spec: "hooked work" }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as Task;
}

async function waitForTask(url: string, id: string, done: (task: Task) => boolean): Promise<Task> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const task = (await (await fetch(`${url}/tasks/${id}`)).json()) as Task;
    if (done(task)) return task;
    if (Date.now() > deadline) throw new Error(`task still ${task.status}: ${JSON.stringify(task)}`);
    await Bun.sleep(20);
  }
}

const endedAs = (task: Task, n: number): AttemptEnd | undefined =>
  task.result?.[`ended${n}`] as AttemptEnd | undefined;

test("afterTurn failing the first attempt retries it; results merge into the task's result on both paths", async () => {
  behaviour.after = (n) =>
    n === 1
      ? {
          failure: { code: "validation_failed", message: "validation failed: exit 1", retryable: true },
          result: { validation: "failed" },
        }
      : { result: { validation: "passed" } };
  const url = await start();
  const task = await addTask(url);
  await waitForTask(url, task.id, (t) => endedAs(t, 1) !== undefined || t.attempts.length > 1);
  // as filed: the next attempt's result replaces this one's
  const retrying = behaviour.filed.get(1) as Task;
  expect(retrying.status).toBe("queued");
  expect(retrying.attempts[0]?.status).toBe("failed");
  expect(retrying.lastError).toBe("validation failed: exit 1");
  expect(retrying.result).toMatchObject({ validation: "failed", ended1: "failed" });
  const done = await waitForTask(url, task.id, (t) => endedAs(t, 2) !== undefined);
  expect(done.status).toBe("completed");
  expect(done.attempts.map((a) => a.status)).toEqual(["failed", "completed"]);
  expect(done.result).toMatchObject({
    validation: "passed",
    ended2: "completed",
    conversationId: done.attempts[1]?.conversationId,
  });
  expect(behaviour.calls).toEqual([
    "before 1",
    "after 1 true",
    "ended 1 failed",
    "before 2",
    "after 2 true",
    "ended 2 completed",
  ]);
});

test("beforeTurn refusing an attempt fails it without starting its turn, and a final refusal is not retried", async () => {
  behaviour.before = () => ({
    failure: { code: "git_failed", message: "not a git repository", retryable: false },
    result: { branch: null },
  });
  const url = await start();
  const task = await addTask(url);
  const failed = await waitForTask(url, task.id, (t) => endedAs(t, 1) !== undefined);
  expect(failed.status).toBe("failed");
  expect(failed.attempts).toHaveLength(1);
  expect(failed.lastError).toBe("not a git repository");
  expect(failed.result).toMatchObject({ branch: null, ended1: "failed" });
  const store = (host as TestHost).get(conversationStoreRef);
  const conversation = await store.conversations.get(failed.attempts[0]?.conversationId as string);
  expect(conversation?.status).toBe("idle");
  expect(behaviour.calls).toEqual(["before 1", "ended 1 failed"]);
});

test("a hook that throws fails the attempt finally, naming the hook", async () => {
  behaviour.after = () => {
    throw new Error("disk on fire");
  };
  const url = await start();
  const task = await addTask(url);
  const failed = await waitForTask(url, task.id, (t) => endedAs(t, 1) !== undefined);
  expect(failed.status).toBe("failed");
  expect(failed.lastError).toBe("hooks-test (afterTurn): disk on fire");
});

test("patchResult merges into the result and publishes task.changed; a missing task is undefined", async () => {
  const url = await start();
  const task = await addTask(url);
  await waitForTask(url, task.id, (t) => t.status === "completed");
  const changes: string[] = [];
  (host as TestHost).host.bus.subscribe("test", "task.changed", ({ change }) => {
    changes.push(change);
  });
  const tasks = (host as TestHost).get(tasksRef);
  const patched = await tasks.patchResult(task.id, { pushStatus: "pushed" });
  expect(patched?.result).toMatchObject({ pushStatus: "pushed", finishReason: "stop" });
  expect(changes).toEqual(["updated"]);
  expect(await tasks.patchResult("tk_missing", { x: 1 })).toBeUndefined();
});
