import { afterEach, beforeEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
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
