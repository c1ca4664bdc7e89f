import { afterEach, expect, test } from "bun:test";
import { panePid } from "../src/testing.ts";
import { type AgentHost, startAgentHost, textOf, waitFor } from "./fixtures/agent-host.ts";

const hosts: AgentHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) {
    await h.stop();
    await h.cleanup();
  }
});

test("a restarted host re-attaches a running session; its next turn reports what happened and is answered", async () => {
  const first = await startAgentHost();
  const id = await first.conversation();
  expect((await first.turn(id, "hello")).at(-1)?.type).toBe("turn.completed");
  const { turnId } = await first.orchestrator.startTurn({ conversationId: id, text: "SLOW work" });
  await waitFor(() => first.agents.list()[0]?.state === "busy");
  const pid = await panePid(first.socketPath, `dispatch-${id}`);
  expect(pid).toBeNumber();
  await first.stop();

  // a session whose conversation does not exist is killed at start-up
  const stray = Bun.spawn([
    "tmux",
    "-S",
    first.socketPath,
    "new-session",
    "-d",
    "-s",
    "dispatch-c_stray",
    "sleep 60",
  ]);
  expect(await stray.exited).toBe(0);

  const second = await startAgentHost(undefined, first.dataDir);
  hosts.push(second);
  expect(second.agents.stats()).toMatchObject({ sessions: 1, attempts: 0 });
  expect(second.agents.list()[0]).toMatchObject({ conversationId: id, state: "busy", health: "unknown" });
  expect((await second.store.turns.get(turnId))?.status).toBe("interrupted");
  expect(await panePid(second.socketPath, `dispatch-${id}`)).toBe(pid);
  const names = Bun.spawn(["tmux", "-S", second.socketPath, "list-sessions", "-F", "#{session_name}"], {
    stdout: "pipe",
  });
  expect((await new Response(names.stdout).text()).trim().split("\n")).toEqual([`dispatch-${id}`]);

  const next = await second.turn(id, "are you back?");
  expect(next.at(-1)?.type).toBe("turn.completed");
  const reattached = next.find((e) => e.type === "agent.reattached");
  expect(reattached?.data).toMatchObject({ agentId: "fake", interruptedTurnId: turnId });
  expect(String(reattached?.data.screen)).toContain("answer: SLOW work");
  expect(next.some((e) => e.type === "agent.started")).toBe(false);
  const text = textOf(next);
  expect(text).toContain("answer: SLOW work\n");
  expect(text).toContain("> are you back?\nanswer: are you back?\n");
  expect(await panePid(second.socketPath, `dispatch-${id}`)).toBe(pid);
});
