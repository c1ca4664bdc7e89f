import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fakeAgentPath, tmuxSessionNames } from "../src/testing.ts";
import { type AgentHost, fakeAgent, startAgentHost, waitFor } from "./fixtures/agent-host.ts";

const hosts: AgentHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) {
    await h.stop();
    await h.cleanup();
  }
});

/** An agent that crashes on CRASH and then waits a minute before its respawn: the turn sits with attempts = 1. */
async function crashedHost(
  overrides: Record<string, unknown> = {},
  defaults: Record<string, unknown> = {},
): Promise<{ h: AgentHost; id: string; turnId: string }> {
  const h = await startAgentHost(
    { agents: [fakeAgent({ respawn: { maxAttempts: 3, backoffMs: [60_000] }, ...overrides })] },
    undefined,
    defaults,
  );
  hosts.push(h);
  const id = await h.conversation();
  const { turnId } = await h.orchestrator.startTurn({ conversationId: id, text: "CRASH" });
  await waitFor(() => h.agents.list()[0]?.attempts === 1);
  expect(h.agents.list()[0]).toMatchObject({ state: "respawning", health: "exited", attempts: 1 });
  expect(h.agents.stats()).toMatchObject({ sessions: 1, attempts: 1 });
  return { h, id, turnId };
}

describe("every exit path empties the attempt records (and the session table, when the session ends)", () => {
  test("complete: the session stays for the next turn, its attempts go", async () => {
    const state = join(mkdtempSync(join(tmpdir(), "fake-agent-")), "crashes");
    const h = await startAgentHost({
      agents: [fakeAgent({ env: { FAKE_AGENT_CRASH_LIMIT: "1", FAKE_AGENT_STATE: state } })],
    });
    hosts.push(h);
    const id = await h.conversation();
    const turn = await h.turn(id, "CRASH once");
    expect(turn.at(-1)?.type).toBe("turn.completed");
    expect(turn.some((e) => e.type === "agent.respawned")).toBe(true);
    expect(h.agents.stats()).toMatchObject({ sessions: 1, attempts: 0 });
  });

  test("cancel during the respawn backoff", async () => {
    const { h, id, turnId } = await crashedHost();
    expect(await h.orchestrator.cancelTurn(id)).toEqual({ turnId, status: "cancelled" });
    expect(h.agents.stats().attempts).toBe(0);
    await waitFor(() => h.agents.stats().sessions === 0);
    expect(await tmuxSessionNames(h.socketPath)).toEqual([]);
  });

  test("the turn deadline during the respawn backoff", async () => {
    const { h, id, turnId } = await crashedHost({}, { turnTimeoutMs: 2500 });
    const events = await h.untilFinal(id, turnId);
    expect(events.at(-1)?.data).toMatchObject({ code: "turn_timeout" });
    expect(h.agents.stats().attempts).toBe(0);
    await waitFor(() => h.agents.stats().sessions === 0);
    expect(await tmuxSessionNames(h.socketPath)).toEqual([]);
  });

  test("session death during the respawn backoff", async () => {
    const { h, id, turnId } = await crashedHost();
    await Bun.spawn(["tmux", "-S", h.socketPath, "kill-server"]).exited;
    const events = await h.untilFinal(id, turnId);
    expect(events.at(-1)?.data).toMatchObject({ code: "agent_gone" });
    expect(h.agents.stats()).toMatchObject({ sessions: 0, attempts: 0 });
  });

  test("spawn failure of the respawn", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fake-agent-bin-"));
    const program = join(dir, "fake-agent");
    copyFileSync(fakeAgentPath, program);
    chmodSync(program, 0o755);
    const { h, id, turnId } = await crashedHost({
      command: [program],
      respawn: { maxAttempts: 3, backoffMs: [1500] },
    });
    rmSync(dir, { recursive: true, force: true });
    const events = await h.untilFinal(id, turnId);
    expect(String(events.at(-1)?.data.error)).toContain("is not on the PATH");
    expect(h.agents.stats()).toMatchObject({ sessions: 0, attempts: 0 });
    expect(await tmuxSessionNames(h.socketPath)).toEqual([]);
  });

  test("host shutdown: records and table are emptied, the tmux session keeps running", async () => {
    const { h, id } = await crashedHost();
    const service = h.agents;
    await h.stop();
    expect(service.stats()).toEqual({
      sessions: 0,
      attempts: 0,
      timers: 0,
      byState: { starting: 0, idle: 0, busy: 0, respawning: 0, exited: 0, stopping: 0 },
    });
    expect(await tmuxSessionNames(h.socketPath)).toEqual([`dispatch-${id}`]);
  });

  test("kill: deleting the workspace kills its sessions", async () => {
    const h = await startAgentHost();
    hosts.push(h);
    await h.store.workspaces.create({
      id: "gone-soon",
      name: "Gone soon",
      root: join(h.dataDir, "gone-soon"),
    });
    const conversation = await h.orchestrator.createConversation({
      workspaceId: "gone-soon",
      runner: "cli:fake",
    });
    expect((await h.turn(conversation.id, "hello")).at(-1)?.type).toBe("turn.completed");
    expect(h.agents.stats()).toMatchObject({ sessions: 1, attempts: 0 });
    await h.store.workspaces.delete("gone-soon");
    await waitFor(() => h.agents.stats().sessions === 0);
    expect(await tmuxSessionNames(h.socketPath)).toEqual([]);
  });
});

test("a host shutdown during a cancel's grace kills that session (nobody is left to end the grace)", async () => {
  const h = await startAgentHost({ agents: [fakeAgent()], cancelGraceMs: 600_000 });
  hosts.push(h);
  const id = await h.conversation();
  await h.turn(id, "warm up");
  await h.orchestrator.startTurn({ conversationId: id, text: "SLOW" });
  await waitFor(() => h.agents.list()[0]?.state === "busy");
  await h.orchestrator.cancelTurn(id);
  expect(h.agents.list()[0]?.state).toBe("stopping");
  await h.stop();
  expect(await tmuxSessionNames(h.socketPath)).toEqual([]);
});
