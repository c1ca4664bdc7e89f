import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  cleanup,
  DispatchProcess,
  mainPath,
  serveProcess,
  tempDir,
  writeConfig,
} from "./dispatch-process.ts";

setDefaultTimeout(90_000);

/** tmux servers this file started, each on its own socket; killed after each test. */
const sockets: string[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) Bun.spawnSync(["tmux", "-L", socket, "kill-server"]);
  cleanup();
});

const scripted = {
  id: "scripted",
  kind: "scripted",
  maxConcurrent: 2,
  script: {
    replies: [
      { when: "^slow", steps: [{ text: "slowly and at length", chunks: 20, delayMs: 1000 }] },
      {
        when: "build",
        steps: [
          { tool: "write_file", input: { path: "a.txt", content: "hi" } },
          { text: "Built it.", chunks: 3 },
        ],
      },
    ],
  },
};

/** Runs a client command to its end; resolves to its exit code and output. */
async function dispatch(url: string, ...args: string[]) {
  const child = new DispatchProcess(args, { DISPATCH_URL: url });
  const code = await child.exitWithin(30_000);
  return { code, stdout: child.stdout, stderr: child.stderr };
}

async function startHost() {
  const { child } = serveProcess({ config: writeConfig(tempDir(), { providers: [scripted] }) });
  return child.url();
}

test("dispatch ws star reorders dispatch ws list; --json prints the API's JSON; errors have their exit codes", async () => {
  const url = await startHost();
  expect((await dispatch(url, "ws", "create", "alpha")).code).toBe(0);
  expect((await dispatch(url, "ws", "create", "zulu", "--name", "Zulu")).code).toBe(0);
  const ids = (stdout: string) =>
    stdout
      .trimEnd()
      .split("\n")
      .map((line) => line.slice(2).split(/\s+/)[0]);
  expect(ids((await dispatch(url, "ws", "list")).stdout)).toEqual(["alpha", "default", "zulu"]);

  const starred = await dispatch(url, "ws", "star", "zulu");
  expect(starred.stdout).toStartWith("* zulu");
  const list = await dispatch(url, "ws", "list");
  expect(ids(list.stdout)).toEqual(["zulu", "alpha", "default"]);
  expect(list.stdout.split("\n")[0]).toStartWith("* zulu");
  const json = JSON.parse((await dispatch(url, "ws", "list", "--json")).stdout);
  expect(json.workspaces.map((w: { id: string; starred: boolean }) => [w.id, w.starred])).toEqual([
    ["zulu", true],
    ["alpha", false],
    ["default", false],
  ]);
  await dispatch(url, "ws", "unstar", "zulu");
  expect(ids((await dispatch(url, "ws", "list")).stdout)).toEqual(["alpha", "default", "zulu"]);

  const missing = await dispatch(url, "ws", "star", "nope");
  expect([missing.code, missing.stderr.trim()]).toEqual([
    1,
    'dispatch: not_found: workspace "nope" does not exist',
  ]);
  const unreachable = await dispatch(url, "ws", "list", "--url", "http://127.0.0.1:1");
  expect(unreachable.code).toBe(3);
  expect(unreachable.stderr).toContain("network_error");
  expect((await dispatch(url, "ws", "frobnicate")).code).toBe(2);

  const task = JSON.parse((await dispatch(url, "tasks", "add", "alpha", "slow", "notes", "--json")).stdout);
  expect(task).toMatchObject({ workspaceId: "alpha", spec: "slow notes", status: "queued" });
  expect((await dispatch(url, "tasks", "list")).stdout).toContain(task.id);
  const cancelled = await dispatch(url, "tasks", "cancel", task.id, "--json");
  expect(JSON.parse(cancelled.stdout).status).toBe("cancelled");
});

/**
 * A tmux session on a socket of its own, running one command in a pseudo-terminal. The command runs
 * under a shell that writes its exit status to a file: tmux 3.3 can mark a pane dead when its
 * terminal closes and then miss reaping the process, leaving the status empty for good.
 */
class Terminal {
  readonly socket = `dispatch-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private readonly statusFile = join(tempDir(), "exit-status");

  constructor(command: string[], env: Record<string, string>) {
    sockets.push(this.socket);
    const envArgs = Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    // the shell traps SIGINT with a no-op so that Ctrl-C reaches only the command, whose handler
    // (reset to the default by exec) decides the status
    const wrapped = ["sh", "-c", 'trap : INT; "$@"; echo $? > "$0"', this.statusFile, ...command];
    const made = Bun.spawnSync([
      "tmux",
      "-L",
      this.socket,
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-x",
      "160",
      "-y",
      "50",
      ...envArgs,
      ...wrapped,
    ]);
    if (made.exitCode !== 0) throw new Error(`tmux new-session failed: ${made.stderr}`);
    Bun.spawnSync(["tmux", "-L", this.socket, "set-option", "-g", "remain-on-exit", "on"]);
  }

  screen(): string {
    return Bun.spawnSync(["tmux", "-L", this.socket, "capture-pane", "-p", "-S", "-200"]).stdout.toString();
  }

  keys(...keys: string[]): void {
    Bun.spawnSync(["tmux", "-L", this.socket, "send-keys", ...keys]);
  }

  /** The command's exit status once it has ended (128 + n for signal n, as `$?`), else undefined. */
  exitStatus(): number | undefined {
    if (!existsSync(this.statusFile)) return undefined;
    const text = readFileSync(this.statusFile, "utf8").trim();
    return text === "" ? undefined : Number(text);
  }

  /** Polls the screen until `match` holds (bounded). */
  async waitFor(match: (screen: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (match(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen:\n${screen}`);
      await Bun.sleep(100);
    }
  }
}

/** Prompts on the screen: lines that start with ">" (tmux drops the space after a bare prompt). */
const prompts = (screen: string) => screen.split("\n").filter((line) => line.startsWith(">")).length;

test("dispatch chat under a pseudo-terminal: a turn streams with its tool call, Ctrl-C cancels a turn, a second Ctrl-C exits 130", async () => {
  const url = await startHost();
  expect((await dispatch(url, "ws", "create", "demo", "--root", join(tempDir(), "demo"))).code).toBe(0);
  const term = new Terminal([process.execPath, mainPath, "chat", "demo"], {
    DISPATCH_URL: url,
    TERM: "xterm",
  });
  await term.waitFor((s) => prompts(s) >= 1, "the prompt");

  term.keys("build it", "Enter");
  const first = await term.waitFor((s) => s.includes("[completed]"), "the first turn to complete");
  expect(first).toContain("[tool write_file a.txt]");
  expect(first).toContain("[write_file ok]");
  expect(first).toContain("Built it.");
  await term.waitFor((s) => prompts(s) >= 2, "the next prompt");

  term.keys("slow please", "Enter");
  await term.waitFor((s) => s.includes("slowly"), "the slow answer to start streaming");
  term.keys("C-c");
  const cancelled = await term.waitFor((s) => s.includes("[cancelled]"), "the turn to be cancelled");
  expect(cancelled).toContain("[cancelling; Ctrl-C again to exit]");
  expect(cancelled).not.toContain("slowly and at length");
  await term.waitFor((s) => prompts(s) >= 3, "the prompt after the cancel");
  expect(term.exitStatus()).toBeUndefined();

  term.keys("C-c");
  const deadline = Date.now() + 15_000;
  while (term.exitStatus() === undefined && Date.now() < deadline) await Bun.sleep(100);
  expect(term.exitStatus()).toBe(130);

  // the host saw both turns end as the screen said
  const conversations = (await (await fetch(`${url}/workspaces/demo/conversations`)).json()) as {
    conversations: Array<{ id: string; status: string }>;
  };
  expect(conversations.conversations.map((c) => c.status)).toEqual(["cancelled"]);
});

test("dispatch tail follows a conversation under a pseudo-terminal and ends with Ctrl-C (130)", async () => {
  const url = await startHost();
  const conv = (await (
    await fetch(`${url}/workspaces/default/conversations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    })
  ).json()) as { id: string };
  const term = new Terminal([process.execPath, mainPath, "tail", conv.id], { DISPATCH_URL: url });
  await Bun.sleep(200);
  await fetch(`${url}/conversations/${conv.id}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: "build it" }),
  });
  const screen = await term.waitFor((s) => s.includes("turn.completed"), "the turn's events");
  expect(screen).toMatch(/^1 turn\.started/m);
  expect(screen).toContain("tool.call [tool write_file a.txt]");
  term.keys("C-c");
  const deadline = Date.now() + 15_000;
  while (term.exitStatus() === undefined && Date.now() < deadline) await Bun.sleep(100);
  expect(term.exitStatus()).toBe(130);
});
