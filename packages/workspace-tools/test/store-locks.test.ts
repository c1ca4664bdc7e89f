import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { toolsConfigSchema } from "../src/config.ts";
import { createExecutionBackends } from "../src/execution-backends.ts";
import { createLocalBackend } from "../src/local-backend.ts";
import { sweepLocks } from "../src/lock-maintenance.ts";
import { RootPins } from "../src/root-pins.ts";
import { unconfinedSandbox } from "../src/sandbox/sandboxes.ts";
import { TurnFiles } from "../src/turn-files.ts";
import { createWorkspaceTools, type WorkspaceTools } from "../src/workspace-tools.ts";
import { type StoreHost, startStoreHost } from "./store-fixtures.ts";

let env: StoreHost;
let tools: WorkspaceTools;
beforeEach(async () => {
  env = await startStoreHost();
  tools = createWorkspaceTools({
    backends: createExecutionBackends(createLocalBackend()),
    locks: env.store.locks,
    pins: new RootPins(),
    turnFiles: new TurnFiles(),
    sandbox: unconfinedSandbox,
    config: toolsConfigSchema.parse({}),
  });
});
afterEach(async () => {
  await env.host.stop();
});

test("with the real lock table: B is refused naming A, and succeeds once A's turn releases", async () => {
  const a = await env.startTurn();
  const b = await env.startTurn();
  expect((await tools.writeFile.run({ path: "shared.txt", content: "A\n" }, a)).isError).toBeUndefined();
  const refused = await tools.editFile.run({ path: "shared.txt", oldText: "A", newText: "B" }, b);
  expect(refused.isError).toBe(true);
  expect(refused.output).toContain(`locked by conversation ${a.conversationId} (turn ${a.turnId})`);
  expect(await env.store.locks.releaseTurn(a.turnId)).toBe(1);
  expect(
    (await tools.editFile.run({ path: "shared.txt", oldText: "A", newText: "B" }, b)).isError,
  ).toBeUndefined();
  expect(readFileSync(join(env.workspace.root, "shared.txt"), "utf8")).toBe("B\n");
});

test("with the real lock table: composed and decomposed é are one lock", async () => {
  const a = await env.startTurn();
  const b = await env.startTurn();
  await tools.writeFile.run({ path: "r\u00e9sum\u00e9.md", content: "x" }, a);
  const result = await tools.writeFile.run({ path: "re\u0301sume\u0301.md", content: "y" }, b);
  expect(result.isError).toBe(true);
  expect(result.output).toContain(`locked by conversation ${a.conversationId}`);
  expect((await env.store.locks.list("ws")).map((lock) => lock.path)).toEqual(["r\u00e9sum\u00e9.md"]);
});

test("sweepLocks releases expired locks and locks of turns that already finished", async () => {
  const live = await env.startTurn();
  const done = await env.startTurn();
  const stale = await env.startTurn();
  await tools.writeFile.run({ path: "live.txt", content: "" }, live);
  await tools.writeFile.run({ path: "done.txt", content: "" }, done);
  await env.store.locks.acquire({
    workspaceId: "ws",
    path: "stale.txt",
    conversationId: stale.conversationId,
    turnId: stale.turnId,
    ttlMs: 1,
  });
  await env.finishTurn(done);
  const report = await sweepLocks(env.store, Date.now() + 1000);
  expect(report).toEqual({ expired: 1, orphaned: 1 });
  expect((await env.store.locks.list("ws")).map((lock) => lock.path)).toEqual(["live.txt"]);
  expect(await sweepLocks(env.store, Date.now())).toEqual({ expired: 0, orphaned: 0 });
});

test("scoped runs (two worktrees of one workspace) lock apart and pin their own roots", async () => {
  const rootA = join(env.host.dataDir, "worktrees", "a");
  const rootB = join(env.host.dataDir, "worktrees", "b");
  const scoped = async (root: string, key: string) => {
    const context = await env.startTurn();
    return { ...context, workspace: { ...context.workspace, root }, scope: { key } };
  };
  const a = await scoped(rootA, "wt-a");
  const b = await scoped(rootB, "wt-b");
  expect((await tools.writeFile.run({ path: "same.txt", content: "from A\n" }, a)).isError).toBeUndefined();
  expect((await tools.writeFile.run({ path: "same.txt", content: "from B\n" }, b)).isError).toBeUndefined();
  expect(readFileSync(join(rootA, "same.txt"), "utf8")).toBe("from A\n");
  expect(readFileSync(join(rootB, "same.txt"), "utf8")).toBe("from B\n");
  expect((await env.store.locks.list("ws")).map((lock) => lock.path).sort()).toEqual([
    "/wt-a/same.txt",
    "/wt-b/same.txt",
  ]);
  // within one scope the lock still holds against another conversation
  const a2 = await scoped(rootA, "wt-a");
  const refused = await tools.writeFile.run({ path: "same.txt", content: "no\n" }, a2);
  expect(refused.isError).toBe(true);
  expect(refused.output).toContain(`locked by conversation ${a.conversationId}`);
  // the workspace's own root keeps its own pin: an unscoped write still works after scoped ones
  const plain = await env.startTurn();
  expect((await tools.writeFile.run({ path: "same.txt", content: "root\n" }, plain)).isError).toBeUndefined();
  expect(readFileSync(join(env.workspace.root, "same.txt"), "utf8")).toBe("root\n");
  // a scoped root replaced by another directory is refused under the same key
  // (moved aside, not removed, so the new directory cannot reuse the old inode number)
  renameSync(rootB, `${rootB}-old`);
  mkdirSync(rootB, { recursive: true });
  const b2 = await scoped(rootB, "wt-b");
  const changed = await tools.readFile.run({ path: "same.txt" }, b2);
  expect(changed.isError).toBe(true);
  expect(changed.output).toContain("is not the directory it was");
  // and accepted under a new key, as a recreated worktree gets
  const b3 = await scoped(rootB, "wt-b-2");
  expect((await tools.writeFile.run({ path: "new.txt", content: "again\n" }, b3)).isError).toBeUndefined();
});
