import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { apiClient, readEvents, startTurn, waitForTurnEnd } from "./api-client.ts";
import { cleanup, DispatchProcess, serveProcess } from "./dispatch-process.ts";

setDefaultTimeout(60_000);
afterEach(cleanup);

test("workspaces, stars, conversations and events survive a restart of bin/dispatch serve", async () => {
  const first = serveProcess();
  const url = await first.child.url();
  const client = apiClient(url);
  await client.workspaces.$post({ json: { id: "keep", name: "Keep me" } });
  await client.workspaces[":id"].star.$put({ param: { id: "keep" } });
  const conversationId = await startTurn(url, "keep", "remember this");
  expect(await waitForTurnEnd(url, conversationId)).toBe("completed");
  const before = await readEvents(url, conversationId, (events) => events.at(-1)?.type === "turn.completed");
  expect(before.at(-1)?.type).toBe("turn.completed");

  first.child.proc.kill("SIGTERM");
  expect(await first.child.exitWithin(10_000)).toBe(0);

  const second = new DispatchProcess(["serve", "--data-dir", first.dataDir, "--port", "0"]);
  const url2 = await second.url();
  const client2 = apiClient(url2);
  const ws = await (await client2.workspaces[":id"].$get({ param: { id: "keep" } })).json();
  expect(ws).toMatchObject({ id: "keep", name: "Keep me", starred: true });
  const list = await (await client2.workspaces.$get()).json();
  expect(list.workspaces[0]?.id).toBe("keep");
  const convs = await (await client2.workspaces[":id"].conversations.$get({ param: { id: "keep" } })).json();
  expect(convs.conversations.map((c) => [c.id, c.status])).toEqual([[conversationId, "completed"]]);
  const messages = await (
    await client2.conversations[":id"].messages.$get({ param: { id: conversationId } })
  ).json();
  expect(messages.messages[0]?.parts).toEqual([{ type: "text", text: "remember this" }]);
  const after = await readEvents(url2, conversationId, (events) => events.length >= before.length);
  expect(after).toEqual(before);

  second.proc.kill("SIGTERM");
  expect(await second.exitWithin(10_000)).toBe(0);
});
