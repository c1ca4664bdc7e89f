import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ConversationStore,
  conversationStoreExtension,
  conversationStoreRef,
} from "@dispatch/conversation-store";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { providersExtension } from "@dispatch/providers";
import { orchestratorRef, sessionOrchestratorExtension } from "@dispatch/session-orchestrator";
import { executionBackendsRef, workspaceToolsExtension } from "@dispatch/workspace-tools";
import { sshPoolExtension } from "../src/extension.ts";
import { freePort, type SshdFixture, startSshd } from "../src/testing/index.ts";
import { sshPoolsRef } from "../src/types.ts";
import { processesMatching, rejectionOf, uniqueMarker, waitFor } from "./helpers.ts";

const marker = uniqueMarker();
const script = {
  replies: [
    {
      when: "^write",
      steps: [
        { tool: "write_file", input: { path: "notes/hello.txt", content: "hi from the model\n" } },
        { tool: "bash", input: { command: "cat notes/hello.txt; pwd; hostname > from-bash.txt" } },
        { tool: "list_dir", input: { path: "notes" } },
        { text: "Done." },
      ],
    },
    {
      when: "^escape",
      steps: [{ tool: "read_file", input: { path: "outside/secret.txt" } }, { text: "Tried." }],
    },
    {
      when: "^sleep",
      steps: [
        { tool: "bash", input: { command: `bash -c 'sleep 100; : ${marker}' & wait` } },
        { text: "after" },
      ],
    },
  ],
};

let sshd: SshdFixture;
let dir: string;
let env: { host: TestHost; store: ConversationStore } | undefined;

beforeAll(async () => {
  sshd = await startSshd();
  dir = realpathSync(mkdtempSync(join(tmpdir(), "ssh-ext-")));
});
afterEach(async () => {
  await env?.host.stop();
  env = undefined;
});
afterAll(async () => {
  await sshd?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function start(hosts: unknown[]): Promise<{ host: TestHost; store: ConversationStore }> {
  const host = await createTestHost({
    extensions: [
      conversationStoreExtension,
      providerConcurrencyExtension,
      providersExtension,
      sessionOrchestratorExtension,
      workspaceToolsExtension,
      sshPoolExtension,
    ],
    config: { providers: [{ id: "scripted", kind: "scripted", maxConcurrent: 2, script }], hosts },
  });
  env = { host, store: host.get(conversationStoreRef) };
  return env;
}

function finished(host: TestHost, turnId: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`turn ${turnId} did not finish`)), 20_000);
    const off = host.host.bus.subscribe("test", "turn.finished", (event) => {
      if (event.turnId !== turnId) return;
      clearTimeout(timer);
      off();
      resolve(event.status);
    });
  });
}

async function runTurn(host: TestHost, store: ConversationStore, workspaceId: string, text: string) {
  const conversation = await store.conversations.create({ workspaceId, provider: "scripted", model: "demo" });
  const { turnId } = await host.get(orchestratorRef).startTurn({ conversationId: conversation.id, text });
  return { conversation, turnId, done: finished(host, turnId) };
}

/** The turn's final status with the error of a `turn.failed` event, so a failure explains itself. */
async function outcome(store: ConversationStore, conversationId: string, done: Promise<string>) {
  const status = await done;
  const failed = (await store.events.listAfter(conversationId, 0)).find(
    (event) => event.type === "turn.failed",
  );
  return { status, failure: (failed?.data as { error?: string } | undefined)?.error };
}

async function toolResults(store: ConversationStore, conversationId: string) {
  return (await store.events.listAfter(conversationId, 0))
    .filter((event) => event.type === "tool.result")
    .map((event) => event.data as { toolName: string; output: string; isError?: boolean });
}

test("each host gets a remote backend; a host that is down does not stop start-up; health and metrics show both", async () => {
  const downPort = await freePort();
  const { host } = await start([sshd.hostConfig(), { ...sshd.hostConfig(), id: "down-box", port: downPort }]);
  const backends = host.get(executionBackendsRef);
  expect(backends.forHost("test-box").id).toBe("test-box");
  expect(backends.forHost("down-box").id).toBe("down-box");
  expect(
    (await backends.forHost("test-box").exec("echo up", { cwd: "/", timeoutMs: 10_000, maxOutputBytes: 100 }))
      .stdout,
  ).toBe("up\n");
  const refused = await rejectionOf(
    backends.forHost("down-box").exec("true", { cwd: "/", timeoutMs: 200, maxOutputBytes: 100 }),
  );
  expect(refused.code).toBe("unavailable");

  const health = host.host.status().extensions.find((ext) => ext.id === "ssh-pool");
  expect(health?.state).toBe("active");
  const hosts = health?.health?.hosts as Record<string, Record<string, unknown>>;
  expect(hosts["test-box"]).toMatchObject({ connections: 1, channelsInUse: 0, queued: 0, breaker: "closed" });
  expect(hosts["down-box"]).toMatchObject({ connections: 0, breaker: "closed" });
  expect(hosts["down-box"]?.consecutiveFailures).toBeGreaterThan(0);
  expect(String(hosts["down-box"]?.lastError)).toContain("ECONNREFUSED");

  const metrics = await host.host.metrics.metrics();
  expect(metrics).toContain('dispatch_ssh_connections{host="test-box"} 1');
  expect(metrics).toContain('dispatch_ssh_connections{host="down-box"} 0');
  expect(metrics).toContain('dispatch_ssh_breaker_state{host="test-box"} 0');
  expect(metrics).toMatch(/dispatch_ssh_failures_total\{host="down-box"\} [1-9]/);
  expect(metrics).toContain('dispatch_ssh_channels_in_use{host="test-box"} 0');

  const pools = host.get(sshPoolsRef);
  await host.stop();
  env = undefined;
  // Shutdown ended every client, and the backends refuse work.
  expect(pools.stats().map((s) => s.connections)).toEqual([0, 0]);
  const afterStop = await rejectionOf(
    backends.forHost("test-box").exec("true", { cwd: "/", timeoutMs: 1_000, maxOutputBytes: 100 }),
  );
  expect(afterStop.message).toBe('the SSH pool for host "test-box" is shut down');
});

test("a configured host named `local` fails the check, naming both contributors of that backend", async () => {
  const error = await rejectionOf(start([{ ...sshd.hostConfig(), id: "local" }]));
  expect(error.message).toContain(
    '"local" is contributed to extension point "workspace-tools.backends" by both "workspace-tools" and "ssh-pool"',
  );
});

test("a remote workspace: a scripted turn writes a file and runs bash on the host", async () => {
  const { host, store } = await start([sshd.hostConfig()]);
  const root = join(dir, "remote-ws");
  await store.workspaces.create({ id: "remote", root, hostId: "test-box" });
  const { conversation, done } = await runTurn(host, store, "remote", "write it");
  expect(await outcome(store, conversation.id, done)).toEqual({ status: "completed", failure: undefined });
  const results = await toolResults(store, conversation.id);
  expect(results.filter((r) => r.isError)).toEqual([]);
  expect(readFileSync(join(root, "notes/hello.txt"), "utf8")).toBe("hi from the model\n");
  expect(existsSync(join(root, "from-bash.txt"))).toBe(true);
  expect(results.map((r) => [r.toolName, r.isError ?? false])).toEqual([
    ["write_file", false],
    ["bash", false],
    ["list_dir", false],
  ]);
  expect(results[1]?.output).toContain("hi from the model");
  expect(results[1]?.output).toContain(root);
  expect(results[2]?.output).toContain("hello.txt");
  await waitFor(async () => (await store.locks.list("remote")).length === 0, "the turn's locks to go");
});

test("a remote workspace keeps the confinement rules: a symlink out of the root is refused", async () => {
  const { host, store } = await start([sshd.hostConfig()]);
  const root = join(dir, "confined");
  const { mkdirSync, symlinkSync, writeFileSync } = await import("node:fs");
  mkdirSync(join(dir, "secret-place"), { recursive: true });
  writeFileSync(join(dir, "secret-place", "secret.txt"), "do not read");
  mkdirSync(root, { recursive: true });
  symlinkSync(join(dir, "secret-place"), join(root, "outside"));
  await store.workspaces.create({ id: "confined", root, hostId: "test-box" });
  const { conversation, done } = await runTurn(host, store, "confined", "escape please");
  expect(await outcome(store, conversation.id, done)).toEqual({ status: "completed", failure: undefined });
  const [result] = await toolResults(store, conversation.id);
  expect(result?.isError).toBe(true);
  expect(result?.output).not.toContain("do not read");
  expect(result?.output).toContain("outside");
});

test("cancelling a turn kills its remote bash command and what it started", async () => {
  const { host, store } = await start([sshd.hostConfig()]);
  await store.workspaces.create({ id: "sleepy", root: join(dir, "sleepy"), hostId: "test-box" });
  const { conversation, done } = await runTurn(host, store, "sleepy", "sleep please");
  await waitFor(() => processesMatching(marker).length > 0, "the remote command to start");
  await host.get(orchestratorRef).cancelTurn(conversation.id);
  expect(await done).toBe("cancelled");
  await waitFor(() => processesMatching(marker).length === 0, "the remote processes to be gone", 5_000);
});
