import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { apiClient, startTurn, waitForTurnEnd } from "./api-client.ts";
import { cleanup, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";

setDefaultTimeout(60_000);
afterEach(cleanup);

test("through bin/dispatch serve, a starred workspace's turn runs next, and starring mid-queue reorders", async () => {
  // One slot; each turn streams 10 chunks 60 ms apart, so the queue holds still while we look at it.
  const config = writeConfig(tempDir(), {
    providers: [
      {
        id: "scripted",
        kind: "scripted",
        maxConcurrent: 1,
        script: { replies: [], fallback: { steps: [{ text: "slow reply", chunks: 10, delayMs: 60 }] } },
      },
    ],
  });
  const { child } = serveProcess({ config });
  const url = await child.url();
  const client = apiClient(url);
  for (const id of ["plain", "later", "vip"]) await client.workspaces.$post({ json: { id } });
  await client.workspaces[":id"].star.$put({ param: { id: "vip" } });
  const queue = async () =>
    ((await (await client.providers.$get()).json()).providers[0]?.queue ?? []).map((w) => w.conversationId);

  const running = await startTurn(url, "plain", "first");
  const waiting: string[] = [];
  for (const ws of ["plain", "later", "vip"]) waiting.push(await startTurn(url, ws, "queued"));
  const [plain, later, vip] = waiting as [string, string, string];
  const deadline = Date.now() + 10_000;
  while ((await queue()).length < 3 && Date.now() < deadline) await Bun.sleep(10);
  expect(await queue()).toEqual([vip, plain, later]);

  await client.workspaces[":id"].star.$put({ param: { id: "later" } });
  expect(await queue()).toEqual([later, vip, plain]);

  // The first to leave the queue is the one it showed first.
  const started = async () => {
    for (const id of waiting) {
      const { status } = await (await client.conversations[":id"].$get({ param: { id } })).json();
      if (status === "running" || status === "completed") return id;
    }
    return undefined;
  };
  let first = await started();
  while (first === undefined && Date.now() < deadline + 20_000) {
    await Bun.sleep(10);
    first = await started();
  }
  expect(first).toBe(later);
  for (const id of [running, ...waiting]) expect(await waitForTurnEnd(url, id)).toBe("completed");
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});
