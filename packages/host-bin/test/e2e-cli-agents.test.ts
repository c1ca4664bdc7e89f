import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { remoteSocketName } from "@dispatch/cli-agents";
import {
  fakeAgentPath,
  killTmuxServer,
  panePid,
  processesWithEnv,
  tmuxSessionNames,
} from "@dispatch/cli-agents/testing";
import { startSshd } from "@dispatch/ssh-pool/testing";
import { type ApiEvent, readEvents, waitForTurnEnd } from "./api-client.ts";
import { cleanup, DispatchProcess, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";

setDefaultTimeout(90_000);
const sockets: string[] = [];
afterEach(async () => {
  // the host leaves agent sessions running by design (they survive restarts); the test ends them,
  // before cleanup() removes the data dir with the socket that reaches their server
  for (const socket of sockets.splice(0)) await killTmuxServer(socket);
  cleanup();
});

/** A config with two fake agents: `fake` crashes once on CRASH, `fragile` crashes every time. */
function agentConfig(marker: string): string {
  const dir = tempDir();
  const agent = (id: string, env: Record<string, string>, maxAttempts: number) => ({
    id,
    command: ["bash", fakeAgentPath],
    provider: "scripted",
    crashPatterns: ["FATAL"],
    idleMs: 600,
    respawn: { maxAttempts, backoffMs: [100] },
    cols: 80,
    rows: 24,
    env: { FAKE_AGENT_MARKER: marker, ...env },
  });
  return writeConfig(dir, {
    providers: [{ id: "scripted", kind: "scripted", maxConcurrent: 2 }],
    cliAgents: {
      captureIntervalMs: 100,
      healthIntervalMs: 100,
      cancelGraceMs: 500,
      agents: [
        agent("fake", { FAKE_AGENT_CRASH_LIMIT: "1", FAKE_AGENT_STATE: join(dir, "crashes") }, 2),
        agent("fragile", {}, 1),
      ],
    },
  });
}

async function post(url: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function newConversation(url: string, runner: string): Promise<string> {
  const res = await post(url, "/workspaces/default/conversations", { runner });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** Posts a message, waits for the turn's end, and returns that turn's events. */
async function turn(url: string, conversationId: string, text: string): Promise<ApiEvent[]> {
  const res = await post(url, `/conversations/${conversationId}/messages`, { text });
  expect(res.status).toBe(202);
  const { turnId } = (await res.json()) as { turnId: string };
  await waitForTurnEnd(url, conversationId, 30_000);
  const finals = new Set(["turn.completed", "turn.failed", "turn.cancelled", "turn.interrupted"]);
  const events = await readEvents(url, conversationId, (all) =>
    all.some((e) => e.turnId === turnId && finals.has(e.type)),
  );
  return events.filter((e) => e.turnId === turnId);
}

const textOf = (events: ApiEvent[]) =>
  events
    .filter((e) => e.type === "text.delta")
    .map((e) => String(e.data.text))
    .join("");

interface AgentsBody {
  agents: Array<{ conversationId: string; agentId: string; state: string; health: string; attempts: number }>;
}

async function agents(url: string): Promise<AgentsBody["agents"]> {
  return ((await (await fetch(`${url}/agents`)).json()) as AgentsBody).agents;
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await Bun.sleep(50);
  }
}

test("through bin/dispatch serve: turns complete, a crash respawns, too many fail, input, cancel, /agents, /metrics, /health", async () => {
  const marker = crypto.randomUUID();
  const { child, dataDir } = serveProcess({ config: agentConfig(marker) });
  const socket = join(dataDir, "tmux", "dispatch.sock");
  sockets.push(socket);
  const url = await child.url();

  const refused = await post(url, "/workspaces/default/conversations", { runner: "cli:nope" });
  expect(refused.status).toBe(400);
  expect(((await refused.json()) as { error: { message: string } }).error.message).toBe(
    'runner "cli:nope": no CLI agent "nope" is configured (configured: fake, fragile)',
  );

  const id = await newConversation(url, "cli:fake");
  const first = await turn(url, id, "hello");
  expect(first.at(-1)?.type).toBe("turn.completed");
  expect(textOf(first)).toContain("answer: hello\n");

  const crash = await turn(url, id, "CRASH once");
  expect(crash.at(-1)?.type).toBe("turn.completed");
  const agentEvents = crash
    .map((e) => e.type)
    .filter((t) => t === "agent.crashed" || t === "agent.respawned");
  expect(agentEvents).toEqual(["agent.crashed", "agent.respawned"]);
  expect(textOf(crash)).toContain("answer: CRASH once\n");
  const after = await turn(url, id, "fine now?");
  expect(textOf(after)).toContain("answer: fine now?\n");

  const fragile = await newConversation(url, "cli:fragile");
  const failed = await turn(url, fragile, "CRASH");
  expect(failed.at(-1)?.type).toBe("turn.failed");
  expect(failed.at(-1)?.data.code).toBe("agent_crashed");
  expect(String(failed.at(-1)?.data.error)).toContain("FATAL: simulated crash");

  expect(await agents(url)).toEqual([
    expect.objectContaining({
      conversationId: id,
      agentId: "fake",
      state: "idle",
      health: "ok",
      attempts: 0,
    }),
  ]);

  // raw input between turns: the agent is told to exit, and the next turn starts it again
  const input = await post(url, `/conversations/${id}/input`, { text: "EXIT\n" });
  expect(input.status).toBe(202);
  await until(async () => (await agents(url))[0]?.state === "exited");
  const keys = await post(url, `/conversations/${id}/input`, { keys: ["Enter"] });
  expect(keys.status).toBe(202);
  const bad = await post(url, `/conversations/${id}/input`, { text: "" });
  expect(bad.status).toBe(400);
  const none = await post(url, `/conversations/${fragile}/input`, { keys: ["y"] });
  expect(none.status).toBe(409);
  const missing = await post(url, "/conversations/c_nope/input", { keys: ["y"] });
  expect(missing.status).toBe(404);
  const restarted = await turn(url, id, "back again");
  expect(restarted.find((e) => e.type === "agent.started")?.data.replaced).toBe("exited with status 0");
  expect(textOf(restarted)).toContain("answer: back again\n");

  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(metrics).toContain('dispatch_cli_agent_sessions{state="idle"} 1');
  expect(metrics).toMatch(/dispatch_cli_agent_crashes_total\{agent="fake"\} [1-9]/);
  expect(metrics).toContain('dispatch_cli_agent_crashes_total{agent="fragile"} 2');
  expect(metrics).toContain('dispatch_cli_agent_respawns_total{agent="fake"} 1');
  expect(metrics).toMatch(/dispatch_cli_agent_capture_tick_seconds_count [1-9]/);
  const health = (await (await fetch(`${url}/health`)).json()) as {
    extensions: Array<{ id: string; state: string; health?: Record<string, unknown> }>;
  };
  const cli = health.extensions.find((e) => e.id === "cli-agents");
  expect(cli?.state).toBe("active");
  expect(cli?.health).toMatchObject({ tmux: expect.stringMatching(/^tmux \d/), sessions: 1, timers: 2 });

  const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, object> };
  expect(Object.keys(openapi.paths["/agents"] ?? {})).toEqual(["get"]);
  expect(Object.keys(openapi.paths["/conversations/{id}/input"] ?? {})).toEqual(["post"]);

  // cancel: C-c, then the session is killed; nothing is left
  const slow = await post(url, `/conversations/${id}/messages`, { text: "SLOW" });
  expect(slow.status).toBe(202);
  await until(async () => (await agents(url))[0]?.state === "busy");
  const cancelled = await post(url, `/conversations/${id}/cancel`, {});
  expect(((await cancelled.json()) as { status: string }).status).toBe("cancelled");
  await until(async () => (await agents(url)).length === 0);
  expect(await tmuxSessionNames(socket)).toEqual([]);
  await until(() => processesWithEnv("FAKE_AGENT_MARKER", marker).length === 0);

  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});

test("kill -9 of the host and a restart: the running session is re-attached and the next message is answered", async () => {
  const marker = crypto.randomUUID();
  const config = agentConfig(marker);
  const first = serveProcess({ config });
  const socket = join(first.dataDir, "tmux", "dispatch.sock");
  sockets.push(socket);
  const url = await first.child.url();
  const id = await newConversation(url, "cli:fake");
  expect((await turn(url, id, "hello")).at(-1)?.type).toBe("turn.completed");
  const slow = await post(url, `/conversations/${id}/messages`, { text: "SLOW work" });
  const { turnId } = (await slow.json()) as { turnId: string };
  await until(async () => (await agents(url))[0]?.state === "busy");
  const pid = await panePid(socket, `dispatch-${id}`);
  expect(pid).toBeNumber();

  first.child.proc.kill("SIGKILL");
  await first.child.exitWithin(10_000);
  expect(await tmuxSessionNames(socket)).toEqual([`dispatch-${id}`]);

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
  expect(await agents(url2)).toEqual([expect.objectContaining({ conversationId: id, agentId: "fake" })]);
  const conversation = (await (await fetch(`${url2}/conversations/${id}`)).json()) as { status: string };
  expect(conversation.status).toBe("interrupted");
  const next = await turn(url2, id, "are you back?");
  expect(next.at(-1)?.type).toBe("turn.completed");
  expect(next.find((e) => e.type === "agent.reattached")?.data).toMatchObject({ interruptedTurnId: turnId });
  expect(next.some((e) => e.type === "agent.started")).toBe(false);
  expect(textOf(next)).toContain("answer: are you back?\n");
  // the same agent process answered: it was never restarted
  expect(await panePid(socket, `dispatch-${id}`)).toBe(pid as number);

  second.proc.kill("SIGTERM");
  expect(await second.exitWithin(10_000)).toBe(0);
});

test("a workspace on an SSH host runs its CLI agent in tmux there", async () => {
  const sshd = await startSshd();
  const remoteDir = mkdtempSync(join(tmpdir(), "dispatch-remote-agent-"));
  let socketName: string | undefined;
  try {
    const config = writeConfig(tempDir(), {
      hosts: [sshd.hostConfig({ id: "box" })],
      providers: [{ id: "scripted", kind: "scripted", maxConcurrent: 1 }],
      cliAgents: {
        captureIntervalMs: 100,
        healthIntervalMs: 100,
        agents: [
          {
            id: "fake",
            command: ["bash", fakeAgentPath],
            crashPatterns: ["FATAL"],
            idleMs: 500,
            cols: 80,
            rows: 24,
          },
          { id: "ghost", command: ["no-such-agent-anywhere"], idleMs: 500 },
        ],
      },
    });
    const { child, dataDir } = serveProcess({ config });
    socketName = remoteSocketName(dataDir);
    const url = await child.url();
    const created = await post(url, "/workspaces", { id: "far", root: join(remoteDir, "ws"), hostId: "box" });
    expect(created.status).toBe(201);
    const res = await post(url, "/workspaces/far/conversations", { runner: "cli:fake" });
    const { id } = (await res.json()) as { id: string };
    const first = await turn(url, id, "hello over ssh");
    expect(first.at(-1)?.type).toBe("turn.completed");
    expect(textOf(first)).toContain("answer: hello over ssh\n");
    expect(await agents(url)).toEqual([
      expect.objectContaining({ conversationId: id, hostId: "box", state: "idle" }),
    ]);
    // the session lives on the remote's own socket, not on the local one
    expect(await tmuxSessionNames(join(dataDir, "tmux", "dispatch.sock"))).toEqual([]);
    expect(await remoteSessions(socketName)).toEqual([`dispatch-${id}`]);

    const ghost = await post(url, "/workspaces/far/conversations", { runner: "cli:ghost" });
    const ghostId = ((await ghost.json()) as { id: string }).id;
    const missing = await turn(url, ghostId, "anyone?");
    expect(String(missing.at(-1)?.data.error)).toBe(
      'the command "no-such-agent-anywhere" of CLI agent "ghost" is not on the PATH of host "box"; fix cliAgents[].command or install it',
    );

    const slow = await post(url, `/conversations/${id}/messages`, { text: "SLOW" });
    expect(slow.status).toBe(202);
    await until(async () => (await agents(url))[0]?.state === "busy");
    await post(url, `/conversations/${id}/cancel`, {});
    await until(async () => (await agents(url)).length === 0);
    expect(await remoteSessions(socketName)).toEqual([]);

    child.proc.kill("SIGTERM");
    expect(await child.exitWithin(10_000)).toBe(0);
  } finally {
    if (socketName !== undefined)
      await Bun.spawn(["tmux", "-L", socketName, "kill-server"], { stderr: "ignore" }).exited;
    await sshd.dispose();
    rmSync(remoteDir, { recursive: true, force: true });
  }
});

/** Sessions on the remote's socket (the "remote" is this machine, as the sshd user). */
async function remoteSessions(socketName: string): Promise<string[]> {
  const child = Bun.spawn(["tmux", "-L", socketName, "list-sessions", "-F", "#{session_name}"], {
    stdout: "pipe",
    stderr: "ignore",
  });
  const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  return code === 0 ? out.split("\n").filter((line) => line !== "") : [];
}
