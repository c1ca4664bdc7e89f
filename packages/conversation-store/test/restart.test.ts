import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { conversationStoreExtension, conversationStoreRef } from "../src/index.ts";

const dataDirs: string[] = [];
const hosts: TestHost[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
  for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function startOn(dataDir: string): Promise<TestHost> {
  const host = await createTestHost({ extensions: [conversationStoreExtension], dataDir });
  hosts.push(host);
  return host;
}

async function stop(host: TestHost): Promise<void> {
  hosts.splice(hosts.indexOf(host), 1);
  expect((await host.stop()).errors).toEqual([]);
}

test("workspaces, stars, conversations, turns, messages and events survive a host restart", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "dispatch-restart-"));
  dataDirs.push(dataDir);

  const first = await startOn(dataDir);
  const before = first.get(conversationStoreRef);
  await before.workspaces.create({ id: "proj", name: "Project", root: "/srv/proj", hostId: "build-box" });
  await before.workspaces.star("proj");
  await before.workspaces.star("default");
  await before.workspaces.unstar("default");
  const conv = await before.conversations.create({
    workspaceId: "proj",
    title: "Chat",
    provider: "p",
    model: "m",
  });
  const done = await before.turns.claim({ conversationId: conv.id, text: "first", promptStartedAt: 1 });
  await before.messages.append({
    conversationId: conv.id,
    turnId: done.turn.id,
    role: "assistant",
    parts: [{ type: "text", text: "ok" }],
  });
  await before.turns.setStatus(done.turn.id, "completed");
  const open = await before.turns.claim({ conversationId: conv.id, text: "second", promptStartedAt: 2 });
  await before.turns.setStatus(open.turn.id, "running");
  await before.events.appendMany(
    conv.id,
    Array.from({ length: 50 }, (_, i) => ({ type: "text.delta", turnId: open.turn.id, data: { i } })),
  );
  const snapshot = {
    workspaces: await before.workspaces.list(),
    conversation: await before.conversations.get(conv.id),
    messages: await before.messages.list(conv.id),
    events: await before.events.listAfter(conv.id, 0),
    unfinished: await before.turns.listUnfinished(),
  };
  await stop(first);

  const second = await startOn(dataDir);
  const after = second.get(conversationStoreRef);
  expect(await after.workspaces.list()).toEqual(snapshot.workspaces);
  expect(await after.workspaces.starredIds()).toEqual(["proj"]);
  expect(await after.conversations.get(conv.id)).toEqual(snapshot.conversation);
  expect(snapshot.conversation).toMatchObject({ status: "running", activeTurnId: open.turn.id });
  expect(await after.messages.list(conv.id)).toEqual(snapshot.messages);
  expect(await after.events.listAfter(conv.id, 0)).toEqual(snapshot.events);
  expect(snapshot.events.length).toBe(50);
  expect(await after.turns.listUnfinished()).toEqual(snapshot.unfinished);
  // The log continues where it stopped, and the default workspace was not created twice.
  expect(
    (await after.events.append(conv.id, { type: "turn.interrupted", turnId: open.turn.id, data: {} })).seq,
  ).toBe(51);
  expect((await after.workspaces.list()).filter((w) => w.id === "default").length).toBe(1);
});
