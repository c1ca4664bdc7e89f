import { afterEach, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { conversationStoreRef } from "@dispatch/conversation-store";
import { DispatchError, type Host } from "@dispatch/kernel";
import { providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { providersExtension } from "@dispatch/providers";
import { orchestratorRef, sessionOrchestratorExtension } from "@dispatch/session-orchestrator";
import { executionBackendsRef } from "../src/backend.ts";
import { workspaceToolsExtension } from "../src/extension.ts";
import { isRunning } from "./fixtures.ts";
import { type StoreHost, startStoreHost } from "./store-fixtures.ts";

const script = {
  replies: [
    {
      when: "^write",
      steps: [
        { tool: "write_file", input: { path: "notes/hello.txt", content: "hi there\n" } },
        { tool: "read_file", input: { path: "notes/hello.txt" } },
        { tool: "bash", input: { command: "cat notes/hello.txt; echo made-by-bash > from-bash.txt" } },
        { text: "Done." },
      ],
    },
    {
      when: "^sleep",
      steps: [
        { tool: "bash", input: { command: 'sleep 100 & echo "$$ $!" > pids; wait' } },
        { text: "after" },
      ],
    },
    {
      when: "^marker",
      steps: [
        { tool: "bash", input: { command: "setsid sleep 4711 & touch started; wait" } },
        { text: "after" },
      ],
    },
  ],
};

const fullStack = [
  providerConcurrencyExtension,
  providersExtension,
  sessionOrchestratorExtension,
  workspaceToolsExtension,
];
const baseConfig = { providers: [{ id: "scripted", kind: "scripted", maxConcurrent: 2, script }] };

let env: StoreHost | undefined;
afterEach(async () => {
  await env?.host.stop();
  env = undefined;
});

async function start(tools: Record<string, unknown> = {}): Promise<StoreHost> {
  env = await startStoreHost(fullStack, { ...baseConfig, tools });
  return env;
}

/** Resolves with the status of `turnId` once the orchestrator publishes `turn.finished` for it (bounded). */
function finished(host: Host, turnId: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`turn ${turnId} did not finish`)), 20000);
    const off = host.bus.subscribe("test", "turn.finished", (event) => {
      if (event.turnId !== turnId) return;
      clearTimeout(timer);
      off();
      resolve(event.status);
    });
  });
}

/** Polls `check` until it is true (bounded); tests wait for conditions, never for time. */
async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await Bun.sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("registers the six tools and provides the execution backends; shutdown removes the tools", async () => {
  const { host } = await start();
  const registry = host.get(orchestratorRef).tools;
  expect(registry.list().map((tool) => tool.name)).toEqual([
    "read_file",
    "write_file",
    "edit_file",
    "list_dir",
    "grep",
    "bash",
  ]);
  for (const tool of registry.list()) expect(tool.description.length).toBeGreaterThan(20);
  const backends = host.get(executionBackendsRef);
  expect(backends.forHost(null).id).toBe("local");
  expect(() => backends.forHost("build-box")).toThrow(/no execution backend for host "build-box"/);
  await host.stop();
  env = undefined;
  expect(registry.list()).toEqual([]);
});

test("a scripted turn writes a file, reads it back and runs bash under the workspace root; its locks go at the end", async () => {
  const { host, store, workspace } = await start();
  const orchestrator = host.get(orchestratorRef);
  const conversation = await store.conversations.create({
    workspaceId: "ws",
    provider: "scripted",
    model: "demo",
  });
  const { turnId } = await orchestrator.startTurn({
    conversationId: conversation.id,
    text: "write something",
  });
  const done = finished(host.host, turnId);
  expect(await done).toBe("completed");
  expect(readFileSync(join(workspace.root, "notes/hello.txt"), "utf8")).toBe("hi there\n");
  expect(readFileSync(join(workspace.root, "from-bash.txt"), "utf8")).toBe("made-by-bash\n");
  const results = (await store.events.listAfter(conversation.id, 0))
    .filter((event) => event.type === "tool.result")
    .map((event) => event.data as { toolName: string; output: string; isError: boolean });
  expect(results.map((r) => [r.toolName, r.isError])).toEqual([
    ["write_file", false],
    ["read_file", false],
    ["bash", false],
  ]);
  expect(results[1]?.output).toBe("hi there");
  expect(results[2]?.output).toContain("hi there");
  await eventually(
    async () => (await store.locks.list("ws")).length === 0,
    "the turn's locks to be released",
  );
});

test("two conversations: B gets the lock error naming A; after A's turn.finished, B succeeds", async () => {
  const env = await start();
  const tools = env.host.get(orchestratorRef).tools;
  const write = tools.get("write_file");
  const edit = tools.get("edit_file");
  if (!write || !edit) throw new Error("tools not registered");
  const a = await env.startTurn();
  const b = await env.startTurn();
  expect((await write.run({ path: "same.txt", content: "A wrote this\n" }, a)).isError).toBeUndefined();
  const refused = await edit.run({ path: "same.txt", oldText: "A wrote", newText: "B wrote" }, b);
  expect(refused.isError).toBe(true);
  expect(refused.output).toContain(`locked by conversation ${a.conversationId}`);
  expect(refused.output).toContain("released when that turn ends");

  await env.finishTurn(a);
  env.host.host.bus.publish("turn.finished", {
    turnId: a.turnId,
    conversationId: a.conversationId,
    workspaceId: "ws",
    status: "completed",
  });
  await eventually(async () => (await env.store.locks.list("ws")).length === 0, "A's lock to be released");
  // Released by the turn.finished handler, not by the sweep.
  const health = env.host.host.status().extensions.find((ext) => ext.id === "workspace-tools")?.health;
  expect(health?.locks).toMatchObject({ released: 1, orphaned: 0, expired: 0 });
  const accepted = await edit.run({ path: "same.txt", oldText: "A wrote", newText: "B wrote" }, b);
  expect(accepted.isError).toBeUndefined();
  expect(readFileSync(join(env.workspace.root, "same.txt"), "utf8")).toBe("B wrote this\n");
});

/** Host processes whose command line is exactly `argv`. */
function processesRunning(argv: string[]): number[] {
  const wanted = `${argv.join("\0")}\0`;
  return readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      return readFileSync(`/proc/${entry}/cmdline`, "utf8") === wanted && isRunning(Number(entry))
        ? [Number(entry)]
        : [];
    } catch {
      return [];
    }
  });
}

test("cancelling a turn kills its bash command, grandchild included (unconfined: its process group)", async () => {
  const { host, store, workspace } = await start({ sandbox: "none" });
  const orchestrator = host.get(orchestratorRef);
  const conversation = await store.conversations.create({
    workspaceId: "ws",
    provider: "scripted",
    model: "demo",
  });
  const { turnId } = await orchestrator.startTurn({ conversationId: conversation.id, text: "sleep please" });
  const pidFile = join(workspace.root, "pids");
  let pids: number[] = [];
  await eventually(() => {
    if (existsSync(pidFile))
      pids = readFileSync(pidFile, "utf8").trim().split(" ").filter(Boolean).map(Number);
    return pids.length === 2;
  }, "the command to start");
  for (const pid of pids) expect(isRunning(pid)).toBe(true);
  const done = finished(host.host, turnId);
  await orchestrator.cancelTurn(conversation.id);
  expect(await done).toBe("cancelled");
  await eventually(() => pids.every((pid) => !isRunning(pid)), "the shell and its grandchild to be gone");
});

test("cancelling a sandboxed bash ends everything in its PID namespace, a setsid escapee included", async () => {
  const { host, store, workspace } = await start({ sandbox: "required" });
  const orchestrator = host.get(orchestratorRef);
  const conversation = await store.conversations.create({
    workspaceId: "ws",
    provider: "scripted",
    model: "demo",
  });
  const { turnId } = await orchestrator.startTurn({ conversationId: conversation.id, text: "marker" });
  await eventually(() => existsSync(join(workspace.root, "started")), "the command to start");
  await eventually(() => processesRunning(["sleep", "4711"]).length === 1, "the sleep to run");
  const done = finished(host.host, turnId);
  await orchestrator.cancelTurn(conversation.id);
  expect(await done).toBe("cancelled");
  await eventually(() => processesRunning(["sleep", "4711"]).length === 0, "the sleep to be gone");
});

test("the sweep releases locks of turns that ended unseen and expired locks", async () => {
  const env = await start({ lockSweepMs: 100 });
  const write = env.host.get(orchestratorRef).tools.get("write_file");
  if (!write) throw new Error("write_file not registered");
  const gone = await env.startTurn();
  expect((await write.run({ path: "orphan.txt", content: "x" }, gone)).isError).toBeUndefined();
  // The turn ends without a turn.finished event, as after a crash or during shutdown.
  await env.finishTurn(gone);
  const stale = await env.startTurn();
  await env.store.locks.acquire({
    workspaceId: "ws",
    path: "stale.txt",
    conversationId: stale.conversationId,
    turnId: stale.turnId,
    ttlMs: 1,
  });
  await eventually(async () => (await env.store.locks.list("ws")).length === 0, "the sweep");
  const health = env.host.host.status().extensions.find((ext) => ext.id === "workspace-tools")?.health;
  expect(health?.locks).toMatchObject({ orphaned: 1, expired: 1 });
});

test("an unknown tools config key is refused at start-up with its path", async () => {
  try {
    await start({ maxOutputByte: 5 });
    throw new Error("expected start-up to fail");
  } catch (error) {
    expect(DispatchError.isInstance(error) && error.code).toBe("startup_failed");
    expect((error as Error).message).toContain("tools");
    expect((error as Error).message).toContain("maxOutputByte");
  }
});

test("the store is used, not a copy: a lock taken through a tool is in the store's lock table", async () => {
  const env = await start();
  const write = env.host.get(orchestratorRef).tools.get("write_file");
  const ctx = await env.startTurn();
  await write?.run({ path: "x.txt", content: "" }, ctx);
  expect((await env.host.get(conversationStoreRef).locks.list("ws")).map((l) => [l.path, l.turnId])).toEqual([
    ["x.txt", ctx.turnId],
  ]);
});
