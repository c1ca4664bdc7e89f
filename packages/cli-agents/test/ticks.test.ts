import { afterEach, expect, test } from "bun:test";
import { type AgentHost, fakeAgent, startAgentHost, textOf } from "./fixtures/agent-host.ts";

const hosts: AgentHost[] = [];
const restores: Array<() => void> = [];
afterEach(async () => {
  for (const restore of restores.splice(0)) restore();
  for (const h of hosts.splice(0)) {
    await h.stop();
    await h.cleanup();
  }
});

/**
 * Counts the timers this package starts, by wrapping the global timer functions (the timers
 * themselves are real): a timer is ours when the code that asked for it, past the kernel (whose
 * `ctx.setInterval` starts timers for extensions), is under cli-agents/src. Timers of other
 * packages that our calls reach (the orchestrator's one text flush timer) are theirs.
 */
function countOwnTimers(): { intervals: number; timeouts: number } {
  const counts = { intervals: 0, timeouts: 0 };
  const ours = () => {
    const frames = (new Error().stack ?? "").split("\n").slice(3);
    const asker = frames.find((frame) => !frame.includes("/kernel/src/"));
    return asker?.includes("/cli-agents/src/") === true;
  };
  const { setInterval: realInterval, setTimeout: realTimeout } = globalThis;
  const wrappedInterval = ((...args: Parameters<typeof setInterval>) => {
    if (ours()) counts.intervals += 1;
    return realInterval(...args);
  }) as typeof setInterval;
  const wrappedTimeout = ((...args: Parameters<typeof setTimeout>) => {
    if (ours()) counts.timeouts += 1;
    return realTimeout(...args);
  }) as typeof setTimeout;
  globalThis.setInterval = Object.assign(wrappedInterval, realInterval);
  globalThis.setTimeout = Object.assign(wrappedTimeout, realTimeout);
  restores.push(() => {
    globalThis.setInterval = realInterval;
    globalThis.setTimeout = realTimeout;
  });
  return counts;
}

test("with 50 agent sessions the host has one capture timer and one health timer", async () => {
  const timers = countOwnTimers();
  const h = await startAgentHost({
    agents: [fakeAgent({ provider: undefined, idleMs: 1500 })],
    captureIntervalMs: 250,
    healthIntervalMs: 250,
  });
  hosts.push(h);
  expect(timers).toEqual({ intervals: 2, timeouts: 0 });
  const ids = await Promise.all(Array.from({ length: 50 }, () => h.conversation()));
  const turns = await Promise.all(ids.map((id, i) => h.turn(id, `hello ${i}`, 120_000)));
  expect(turns.map((t) => t.at(-1)?.type)).toEqual(ids.map(() => "turn.completed"));
  expect(turns.map((t, i) => textOf(t).includes(`answer: hello ${i}\n`))).toEqual(ids.map(() => true));
  expect(h.agents.stats()).toMatchObject({ sessions: 50, attempts: 0, timers: 2 });
  expect(h.agents.stats().byState.idle).toBe(50);
  expect(timers).toEqual({ intervals: 2, timeouts: 0 });
  const health = h.test.host.status().extensions.find((e) => e.id === "cli-agents")?.health;
  expect(health).toMatchObject({ sessions: 50, timers: 2, tmux: expect.stringMatching(/^tmux \d/) });
}, 180_000);
