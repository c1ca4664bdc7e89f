import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@dispatch/client";
import { type ApiEvent, apiClient, readEvents, startTurn, waitForTurnEnd } from "./api-client.ts";
import { cleanup, DispatchProcess, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";
import { scriptedConfig, toolOutcomes, waitForStatus } from "./hostile-script.ts";

setDefaultTimeout(120_000);
afterEach(cleanup);

const bash = (command: string) => ({ tool: "bash", input: { command } });
const replies = [
  { when: "^approve", steps: [bash("echo approved > approved.txt"), { text: "done" }] },
  { when: "^refuse", steps: [bash("echo refused > refused.txt"), { text: "done" }] },
  { when: "^nobody", steps: [bash("echo unanswered > unanswered.txt"), { text: "done" }] },
  { when: "^twice", steps: [bash("echo same >> same.txt"), bash("echo same >> same.txt"), { text: "done" }] },
  {
    when: "^dotenv",
    steps: [
      { tool: "write_file", input: { path: "config/./prod.env", content: "KEY=1\n" } },
      { text: "done" },
    ],
  },
  { when: "^stuck", steps: [bash("echo late > late.txt"), { text: "done" }] },
];
const tools = { permissions: { bash: "ask", "write_file:*.env": "deny" }, approvalTimeoutMs: 1500 };

/** Reads the conversation's events until one of `type` arrives; returns it. */
async function eventOf(url: string, conversationId: string, type: string): Promise<ApiEvent> {
  const events = await readEvents(url, conversationId, (list) => list.some((e) => e.type === type));
  const found = events.find((e) => e.type === type);
  if (found === undefined) throw new Error(`no ${type} event in ${conversationId}`);
  return found;
}

async function events(url: string, conversationId: string): Promise<ApiEvent[]> {
  return readEvents(url, conversationId, (list) =>
    list.some((e) =>
      ["turn.completed", "turn.failed", "turn.cancelled", "turn.interrupted"].includes(e.type),
    ),
  );
}

function answer(url: string, conversationId: string, toolCallId: string, body: unknown): Promise<Response> {
  return fetch(`${url}/conversations/${conversationId}/approvals/${encodeURIComponent(toolCallId)}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

test("approvals through bin/dispatch serve: ask → event → allow runs; deny; timeout; remember; a deny rule; cancel", async () => {
  const dir = tempDir();
  const { child } = serveProcess({ config: writeConfig(dir, scriptedConfig(replies, { tools })) });
  const url = await child.url();
  const client = apiClient(url);
  const root = join(dir, "ws");
  await client.workspaces.$post({ json: { id: "gated", root } });

  // ask → event → allow runs the call. While it waits, no provider slot is held.
  const approve = await startTurn(url, "gated", "approve");
  const asked = await eventOf(url, approve, "tool.approval_requested");
  expect(asked.data).toMatchObject({
    toolName: "bash",
    subject: "echo approved > approved.txt",
    input: { command: "echo approved > approved.txt" },
    rule: { key: "bash", scope: "host" },
    timeoutMs: 1500,
  });
  const providers = (await (await client.providers.$get()).json()).providers;
  expect(providers.every((p) => p.inFlight === 0)).toBe(true);
  expect(existsSync(join(root, "approved.txt"))).toBe(false);
  const allowed = await answer(url, approve, String(asked.data.toolCallId), { decision: "allow" });
  expect(allowed.status).toBe(200);
  expect(await allowed.json()).toEqual({
    toolCallId: asked.data.toolCallId,
    decision: "allow",
    remembered: null,
  });
  expect(await waitForTurnEnd(url, approve)).toBe("completed");
  expect(existsSync(join(root, "approved.txt"))).toBe(true);
  expect((await events(url, approve)).find((e) => e.type === "tool.approval_resolved")?.data).toMatchObject({
    decision: "allow",
    by: "person",
  });

  // deny → the model sees a denial, nothing ran.
  const refuse = await startTurn(url, "gated", "refuse");
  const refuseAsk = await eventOf(url, refuse, "tool.approval_requested");
  // (through @dispatch/client this time)
  const denial = await createClient({ baseUrl: url }).conversations.approve(
    refuse,
    String(refuseAsk.data.toolCallId),
    { decision: "deny" },
  );
  expect(denial).toEqual({
    toolCallId: String(refuseAsk.data.toolCallId),
    decision: "deny",
    remembered: null,
  });
  expect(await waitForTurnEnd(url, refuse)).toBe("completed");
  const [denied] = await toolOutcomes(url, refuse);
  expect(denied).toMatchObject({ toolName: "bash", isError: true });
  expect(denied?.output).toContain("The user denied this call; it did not run");
  expect(existsSync(join(root, "refused.txt"))).toBe(false);

  // No answer: a deny after the timeout; answering later finds nothing.
  const nobody = await startTurn(url, "gated", "nobody");
  const nobodyAsk = await eventOf(url, nobody, "tool.approval_requested");
  expect(await waitForTurnEnd(url, nobody)).toBe("completed");
  const [timedOut] = await toolOutcomes(url, nobody);
  expect(timedOut?.output).toContain("No one answered the approval request within 1500 ms");
  expect(existsSync(join(root, "unanswered.txt"))).toBe(false);
  const late = await answer(url, nobody, String(nobodyAsk.data.toolCallId), { decision: "allow" });
  expect(late.status).toBe(404);
  expect(((await late.json()) as { error: { code: string } }).error.code).toBe("not_found");

  // remember: the rule for exactly this call goes on the workspace and the next identical call is not asked.
  const twice = await startTurn(url, "gated", "twice");
  const twiceAsk = await eventOf(url, twice, "tool.approval_requested");
  const remembered = await answer(url, twice, String(twiceAsk.data.toolCallId), {
    decision: "allow",
    remember: true,
  });
  expect(await remembered.json()).toMatchObject({
    remembered: { rule: "bash:echo same >> same.txt", decision: "allow" },
  });
  expect(await waitForTurnEnd(url, twice)).toBe("completed");
  const twiceEvents = await events(url, twice);
  expect(twiceEvents.filter((e) => e.type === "tool.approval_requested")).toHaveLength(1);
  expect((await toolOutcomes(url, twice)).map((o) => o.isError)).toEqual([false, false]);
  const ws = await (await client.workspaces[":id"].$get({ param: { id: "gated" } })).json();
  expect(ws.permissions).toEqual({ "bash:echo same >> same.txt": "allow" });

  // A deny rule refuses at once, without asking, however the path is spelt.
  const dotenv = await startTurn(url, "gated", "dotenv");
  expect(await waitForTurnEnd(url, dotenv)).toBe("completed");
  const [envWrite] = await toolOutcomes(url, dotenv);
  expect(envWrite?.output).toContain('denied by the permission rule "write_file:*.env" (host rules)');
  expect((await events(url, dotenv)).some((e) => e.type === "tool.approval_requested")).toBe(false);
  expect(existsSync(join(root, "config", "prod.env"))).toBe(false);

  // cancel ends a pending approval as denied, at once.
  const stuck = await startTurn(url, "gated", "stuck");
  const stuckAsk = await eventOf(url, stuck, "tool.approval_requested");
  const cancelled = await client.conversations[":id"].cancel.$post({ param: { id: stuck } });
  expect(await cancelled.json()).toMatchObject({ status: "cancelled" });
  expect((await answer(url, stuck, String(stuckAsk.data.toolCallId), { decision: "allow" })).status).toBe(
    404,
  );
  expect(existsSync(join(root, "late.txt"))).toBe(false);

  // Bad answers are refused at the edge.
  expect((await answer(url, stuck, "x", { decision: "maybe" })).status).toBe(400);
  expect((await answer(url, "no-such-conversation", "x", { decision: "deny" })).status).toBe(404);

  const health = (await (await fetch(`${url}/health`)).json()) as {
    extensions: Array<{ id: string; state: string; health?: Record<string, unknown> }>;
  };
  expect(health.extensions.find((e) => e.id === "tool-approvals")).toMatchObject({
    state: "active",
    health: { pending: 0, timedOut: 1, remembered: 1 },
  });
  const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
  expect(Object.keys(openapi.paths)).toContain("/conversations/{id}/approvals/{toolCallId}");
});

test("a pending approval does not survive a crash as a hang: after kill -9 and a restart the turn is interrupted", async () => {
  const dir = tempDir();
  const config = writeConfig(
    dir,
    scriptedConfig(replies, { tools: { ...tools, approvalTimeoutMs: 600_000 } }),
  );
  const first = serveProcess({ config });
  const url = await first.child.url();
  await apiClient(url).workspaces.$post({ json: { id: "gated", root: join(dir, "ws") } });
  const conversationId = await startTurn(url, "gated", "stuck");
  const asked = await eventOf(url, conversationId, "tool.approval_requested");
  first.child.proc.kill("SIGKILL");
  await first.child.exitWithin(10_000);

  const second = new DispatchProcess([
    "serve",
    "--data-dir",
    first.dataDir,
    "--port",
    "0",
    "--config",
    config,
  ]);
  const url2 = await second.url();
  await waitForStatus(url2, conversationId, "interrupted", 10_000);
  expect(
    (await answer(url2, conversationId, String(asked.data.toolCallId), { decision: "allow" })).status,
  ).toBe(404);
  // The conversation is free again: a new message starts (and ends) a turn.
  const posted = await apiClient(url2).conversations[":id"].messages.$post({
    param: { id: conversationId },
    json: { text: "hello again" },
  });
  expect(posted.status).toBe(202);
  expect(await waitForTurnEnd(url2, conversationId)).toBe("completed");
  expect(existsSync(join(dir, "ws", "late.txt"))).toBe(false);
  second.proc.kill("SIGTERM");
  expect(await second.exitWithin(20_000)).toBe(0);
});

test("shutdown with an approval pending exits cleanly at once and the turn is recorded interrupted", async () => {
  const dir = tempDir();
  const config = writeConfig(
    dir,
    scriptedConfig(replies, { tools: { ...tools, approvalTimeoutMs: 600_000 } }),
  );
  const first = serveProcess({ config });
  const url = await first.child.url();
  await apiClient(url).workspaces.$post({ json: { id: "gated", root: join(dir, "ws") } });
  const conversationId = await startTurn(url, "gated", "stuck");
  await eventOf(url, conversationId, "tool.approval_requested");
  first.child.proc.kill("SIGTERM");
  expect(await first.child.exitWithin(20_000)).toBe(0);

  const second = new DispatchProcess([
    "serve",
    "--data-dir",
    first.dataDir,
    "--port",
    "0",
    "--config",
    config,
  ]);
  const url2 = await second.url();
  const conversation = await (
    await apiClient(url2).conversations[":id"].$get({ param: { id: conversationId } })
  ).json();
  expect(conversation.status).toBe("interrupted");
  const all = await events(url2, conversationId);
  expect(all.find((e) => e.type === "tool.approval_resolved")?.data).toMatchObject({
    decision: "deny",
    by: "turn-ended",
  });
  expect(existsSync(join(dir, "ws", "late.txt"))).toBe(false);
  second.proc.kill("SIGTERM");
  expect(await second.exitWithin(20_000)).toBe(0);
});
