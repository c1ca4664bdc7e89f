import { afterAll, afterEach, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type SshdFixture, startSshd } from "@dispatch/ssh-pool/testing";
import { apiClient, startTurn, waitForTurnEnd } from "./api-client.ts";
import { cleanup, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";

setDefaultTimeout(60_000);
let sshd: SshdFixture;
let remoteDir: string;
beforeAll(async () => {
  sshd = await startSshd();
  // The "remote" machine is this one over loopback SSH; its files live in their own temp dir.
  remoteDir = mkdtempSync(join(tmpdir(), "dispatch-remote-"));
});
afterAll(async () => {
  await sshd.dispose();
  rmSync(remoteDir, { recursive: true, force: true });
});
afterEach(cleanup);

test("through bin/dispatch serve, a workspace on an SSH host runs its tools there", async () => {
  const config = writeConfig(tempDir(), {
    hosts: [sshd.hostConfig({ id: "box" })],
    providers: [
      {
        id: "scripted",
        kind: "scripted",
        maxConcurrent: 1,
        script: {
          replies: [
            {
              when: "remote",
              steps: [
                { tool: "write_file", input: { path: "remote.txt", content: "written over ssh\n" } },
                { tool: "bash", input: { command: "echo ran-on-$(hostname) > proof.txt && cat remote.txt" } },
                { text: "Done remotely." },
              ],
            },
          ],
        },
      },
    ],
  });
  const { child } = serveProcess({ config });
  const url = await child.url();
  const client = apiClient(url);
  const root = join(remoteDir, "ws");
  const created = await client.workspaces.$post({ json: { id: "far", root, hostId: "box" } });
  expect(created.status).toBe(201);

  const conversationId = await startTurn(url, "far", "do it remote");
  expect(await waitForTurnEnd(url, conversationId)).toBe("completed");
  expect(readFileSync(join(root, "remote.txt"), "utf8")).toBe("written over ssh\n");
  expect(existsSync(join(root, "proof.txt"))).toBe(true);

  const messages = await (
    await client.conversations[":id"].messages.$get({ param: { id: conversationId } })
  ).json();
  const bash = messages.messages
    .flatMap((m) => m.parts)
    .find((p) => p.type === "tool-result" && p.toolName === "bash");
  expect(bash?.type === "tool-result" && bash.output).toContain("written over ssh");

  // The host's state shows in /health: one pool for "box" with a live connection.
  const health = (await (await fetch(`${url}/health`)).json()) as {
    extensions: Array<{
      id: string;
      health?: { hosts?: Record<string, { connections: number; breaker: string }> };
    }>;
  };
  const hosts = health.extensions.find((e) => e.id === "ssh-pool")?.health?.hosts;
  expect(hosts?.box?.connections).toBeGreaterThanOrEqual(1);

  // An unknown host id is refused at the edge.
  const bad = await fetch(`${url}/workspaces`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ id: "nowhere", hostId: "no-such-host" }),
  });
  expect(bad.status).toBe(400);

  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});

test("bash on an SSH host runs in bubblewrap there, probed per host and shown in /health", async () => {
  const marker = `/etc/dispatch-remote-escape-${process.pid}`;
  const config = writeConfig(tempDir(), {
    hosts: [sshd.hostConfig({ id: "box" })],
    tools: { sandbox: "required" },
    providers: [
      {
        id: "scripted",
        kind: "scripted",
        maxConcurrent: 1,
        script: {
          replies: [
            {
              when: "jail",
              steps: [
                { tool: "bash", input: { command: `echo pwned > ${marker}` } },
                {
                  tool: "bash",
                  input: { command: "setsid sleep 4712 & echo inside > inside.txt; cat inside.txt" },
                },
                { text: "Done." },
              ],
            },
          ],
        },
      },
    ],
  });
  const { child } = serveProcess({ config });
  const url = await child.url();
  const client = apiClient(url);
  const root = join(remoteDir, "jailed");
  expect((await client.workspaces.$post({ json: { id: "jailed", root, hostId: "box" } })).status).toBe(201);
  const conversationId = await startTurn(url, "jailed", "jail");
  expect(await waitForTurnEnd(url, conversationId)).toBe("completed");
  const messages = await (
    await client.conversations[":id"].messages.$get({ param: { id: conversationId } })
  ).json();
  const [breakout, inside] = messages.messages
    .flatMap((m) => m.parts)
    .flatMap((p) => (p.type === "tool-result" ? [p] : []));
  expect(breakout?.isError).toBe(true);
  expect(breakout?.output).toContain("Read-only file system");
  expect(existsSync(marker)).toBe(false);
  expect(inside?.output).toContain("inside");
  expect(readFileSync(join(root, "inside.txt"), "utf8")).toBe("inside\n");
  // The remote PID namespace ended with the call: the setsid escapee is gone ("remote" is this machine).
  const leftover = readdirSync("/proc").filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8") === "sleep\u00004712\u0000";
    } catch {
      return false;
    }
  });
  expect(leftover).toEqual([]);

  const health = (await (await fetch(`${url}/health`)).json()) as {
    extensions: Array<{
      id: string;
      health?: { sandbox?: { hosts?: Record<string, Record<string, unknown>> } };
    }>;
  };
  const hosts = health.extensions.find((e) => e.id === "workspace-tools")?.health?.sandbox?.hosts;
  expect(hosts?.box).toMatchObject({
    state: "ready",
    bash: "sandboxed",
    binary: expect.stringMatching(/bwrap$/),
  });
  expect(hosts?.local).toMatchObject({ state: "ready" });

  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});
