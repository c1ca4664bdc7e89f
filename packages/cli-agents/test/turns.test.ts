import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processesWithEnv, tmuxSessionNames } from "../src/testing.ts";
import { type AgentHost, fakeAgent, startAgentHost, textOf, waitFor } from "./fixtures/agent-host.ts";

const hosts: AgentHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) {
    await h.stop();
    await h.cleanup();
  }
});

async function host(...args: Parameters<typeof startAgentHost>): Promise<AgentHost> {
  const h = await startAgentHost(...args);
  hosts.push(h);
  return h;
}

const types = (events: readonly { type: string }[]) => events.map((e) => e.type);

describe("cli turns", () => {
  test("a conversation with the fake agent completes turns; text, screen and the answer are recorded", async () => {
    const h = await host();
    const id = await h.conversation();
    const first = await h.turn(id, "hello there");
    expect(first.at(-1)?.type).toBe("turn.completed");
    expect(types(first).slice(0, 2)).toEqual(["turn.started", "agent.started"]);
    expect(types(first)).toContain("agent.input");
    expect(types(first)).toContain("screen.updated");
    expect(textOf(first)).toContain("Fake Agent 1.0");
    expect(textOf(first)).toContain("> hello there\nanswer: hello there\n");
    const second = await h.turn(id, "again");
    expect(second.at(-1)?.type).toBe("turn.completed");
    expect(types(second)).not.toContain("agent.started");
    expect(textOf(second)).toBe("> again\nanswer: again\n");
    const messages = await h.store.messages.list(id);
    expect(messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(messages[3]?.parts).toEqual([{ type: "text", text: "> again\nanswer: again\n" }]);
    expect(h.agents.stats()).toMatchObject({ sessions: 1, attempts: 0, timers: 2 });
    expect(h.agents.list()).toEqual([
      {
        conversationId: id,
        workspaceId: "default",
        agentId: "fake",
        state: "idle",
        health: "ok",
        attempts: 0,
        lastOutputAt: expect.any(String),
        hostId: null,
      },
    ]);
  });

  test("multi-line input arrives as one paste; lines that scroll past between ticks are still reported", async () => {
    const h = await host();
    const id = await h.conversation();
    const turn = await h.turn(id, "first line\nsecond line");
    expect(turn.at(-1)?.type).toBe("turn.completed");
    expect(textOf(turn)).toContain("answer: first line\n");
    expect(textOf(turn)).toContain("answer: second line\n");
    const lots = await h.turn(id, "LOTS please");
    const text = textOf(lots);
    expect(text).toContain(
      `${Array.from({ length: 300 }, (_, i) => `row ${i + 1}`).join("\n")}\nanswer: LOTS please\n`,
    );
    const screens = lots.filter((e) => e.type === "screen.updated");
    expect(screens.every((e) => String(e.data.screen).split("\n").length <= 20)).toBe(true);
  });

  test("the crash word gives agent.crashed then agent.respawned, the message is sent again, the next turn works", async () => {
    const state = join(mkdtempSync(join(tmpdir(), "fake-agent-")), "crashes");
    const h = await host({
      agents: [fakeAgent({ env: { FAKE_AGENT_CRASH_LIMIT: "1", FAKE_AGENT_STATE: state } })],
    });
    const id = await h.conversation();
    const turn = await h.turn(id, "please CRASH now");
    expect(turn.at(-1)?.type).toBe("turn.completed");
    const order = types(turn).filter((t) => t.startsWith("agent."));
    expect(order).toEqual([
      "agent.started",
      "agent.input",
      "agent.crashed",
      "agent.respawned",
      "agent.input",
    ]);
    const crashed = turn.find((e) => e.type === "agent.crashed");
    expect(crashed?.data).toMatchObject({ attempt: 1, maxAttempts: 2 });
    expect(String(crashed?.data.screen)).toContain("FATAL: simulated crash");
    expect(textOf(turn)).toContain("answer: please CRASH now");
    expect(h.agents.stats()).toMatchObject({ sessions: 1, attempts: 0 });
    const next = await h.turn(id, "still there?");
    expect(next.at(-1)?.type).toBe("turn.completed");
    expect(textOf(next)).toContain("answer: still there?");
  });

  test("a crash pattern with the process still running is a crash too", async () => {
    const h = await host({ agents: [fakeAgent({ respawn: { maxAttempts: 0, backoffMs: [10] } })] });
    const id = await h.conversation();
    const turn = await h.turn(id, "PANIC");
    expect(turn.at(-1)?.type).toBe("turn.failed");
    expect(turn.find((e) => e.type === "agent.crashed")?.data).toMatchObject({
      pattern: "Segmentation fault",
    });
  });

  test("a health tick that runs late cannot let a crash pass for an answer", async () => {
    const h = await host({
      agents: [fakeAgent({ respawn: { maxAttempts: 0, backoffMs: [10] } })],
      healthIntervalMs: 600_000,
    });
    const id = await h.conversation();
    const turn = await h.turn(id, "PANIC");
    expect(turn.at(-1)?.type).toBe("turn.failed");
    expect(turn.find((e) => e.type === "agent.crashed")?.data).toMatchObject({
      pattern: "Segmentation fault",
    });
  });

  test("past maxAttempts the turn fails with the last screen in the error; nothing is left", async () => {
    const marker = crypto.randomUUID();
    const h = await host({ agents: [fakeAgent({ env: { FAKE_AGENT_MARKER: marker } })] });
    const id = await h.conversation();
    const turn = await h.turn(id, "CRASH every time");
    const last = turn.at(-1);
    expect(last?.type).toBe("turn.failed");
    expect(last?.data.code).toBe("agent_crashed");
    expect(String(last?.data.error)).toContain('agent "fake" crashed 3 times');
    expect(String(last?.data.error)).toContain("FATAL: simulated crash");
    expect(types(turn).filter((t) => t === "agent.crashed").length).toBe(3);
    expect(types(turn).filter((t) => t === "agent.respawned").length).toBe(2);
    expect(h.agents.stats()).toMatchObject({ sessions: 0, attempts: 0 });
    expect(await tmuxSessionNames(h.socketPath)).toEqual([]);
    await waitFor(() => processesWithEnv("FAKE_AGENT_MARKER", marker).length === 0);
  });

  test("cancel sends C-c, then kills the session: no tmux session or process is left", async () => {
    const marker = crypto.randomUUID();
    const h = await host({ agents: [fakeAgent({ env: { FAKE_AGENT_MARKER: marker } })] });
    const id = await h.conversation();
    await h.turn(id, "warm up");
    const { turnId } = await h.orchestrator.startTurn({ conversationId: id, text: "SLOW one" });
    await waitFor(() => h.agents.list()[0]?.state === "busy");
    expect(processesWithEnv("FAKE_AGENT_MARKER", marker).length).toBeGreaterThan(0);
    expect(await h.orchestrator.cancelTurn(id)).toEqual({ turnId, status: "cancelled" });
    expect(h.agents.stats().attempts).toBe(0);
    await waitFor(() => h.agents.stats().sessions === 0);
    expect(await tmuxSessionNames(h.socketPath)).toEqual([]);
    await waitFor(() => processesWithEnv("FAKE_AGENT_MARKER", marker).length === 0);
    const after = await h.turn(id, "fresh start");
    expect(after.at(-1)?.type).toBe("turn.completed");
    expect(types(after)).toContain("agent.started");
  });

  test("a session killed outside Dispatch fails its turn and leaves the table", async () => {
    const h = await host();
    const id = await h.conversation();
    await h.turn(id, "warm up");
    const { turnId } = await h.orchestrator.startTurn({ conversationId: id, text: "SLOW one" });
    await waitFor(() => h.agents.list()[0]?.state === "busy");
    await Bun.spawn(["tmux", "-S", h.socketPath, "kill-server"]).exited;
    const events = await h.untilFinal(id, turnId);
    expect(events.at(-1)?.data).toMatchObject({ code: "agent_gone" });
    expect(h.agents.stats()).toMatchObject({ sessions: 0, attempts: 0 });
  });

  test("an agent whose command is not on the PATH fails the turn with a clear error", async () => {
    const h = await host({ agents: [fakeAgent({ command: ["no-such-agent-here"] })] });
    const id = await h.conversation();
    const turn = await h.turn(id, "hello");
    expect(turn.at(-1)?.data.error).toBe(
      'the command "no-such-agent-here" of CLI agent "fake" is not on the PATH; fix cliAgents[].command or install it',
    );
    expect(h.agents.stats()).toMatchObject({ sessions: 0, attempts: 0 });
  });

  test("an agent that exits on every message fails its turn; the next turn starts it again", async () => {
    const h = await host();
    const id = await h.conversation();
    const bye = await h.turn(id, "EXIT");
    expect(bye.at(-1)?.type).toBe("turn.failed");
    const again = await h.turn(id, "back?");
    expect(again.at(-1)?.type).toBe("turn.completed");
  });
});
