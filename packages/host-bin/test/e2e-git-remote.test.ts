import { afterAll, afterEach, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type SshdFixture, startSshd } from "@dispatch/ssh-pool/testing";
import { cleanup, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";
import { addTask, git, makeRepo, post, waitForTask } from "./git-fixtures.ts";

setDefaultTimeout(120_000);
let sshd: SshdFixture;
let remoteDir: string;
beforeAll(async () => {
  sshd = await startSshd();
  // The "remote" machine is this one over loopback SSH; its repository lives in its own temp dir.
  remoteDir = mkdtempSync(join(tmpdir(), "dispatch-git-remote-"));
});
afterAll(async () => {
  await sshd.dispose();
  rmSync(remoteDir, { recursive: true, force: true });
});
afterEach(cleanup);

test("a workspace on an SSH host: its task runs in a worktree made there, validated, committed and pushed over SSH", async () => {
  const { repo, bare } = makeRepo(remoteDir);
  const worktreesDir = join(remoteDir, "worktrees");
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
                { tool: "write_file", input: { path: "far.txt", content: "written over ssh\n" } },
                { text: "Done remotely." },
              ],
            },
          ],
        },
      },
    ],
    tasks: { tickMs: 50 },
    git: { remote: "origin", tickMs: 50, remoteWorktreesDir: worktreesDir },
  });
  const { child, dataDir } = serveProcess({ config });
  const url = await child.url();
  expect((await post(`${url}/workspaces`, { id: "far", root: repo, hostId: "box" })).status).toBe(201);
  const task = await addTask(url, {
    workspaceId: "far",
    spec: "work remote",
    title: "Remote work",
    worktree: true,
    validate: { command: "cat far.txt && pwd", timeoutMs: 30_000 },
  });
  const done = await waitForTask(url, task.id, (t) => t.result?.pushStatus === "pushed");
  expect(done.status).toBe("completed");
  const path = join(worktreesDir, "far", task.id);
  expect(done.result).toMatchObject({ branch: `dispatch/${task.id}`, worktree: path });
  expect(done.result?.validation).toMatchObject({ status: "passed", output: `written over ssh\n${path}\n` });
  // the worktree is on the host's side, not under the local data dir
  expect(existsSync(join(path, "far.txt"))).toBe(true);
  expect(existsSync(join(dataDir, "worktrees"))).toBe(false);
  expect(git(repo, "log", "-1", "--format=%s", `dispatch/${task.id}`)).toBe("Remote work");
  expect(git(bare, "show", `dispatch/${task.id}:far.txt`)).toBe("written over ssh");
  expect(git(repo, "status", "--porcelain")).toBe("");
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(15_000)).toBe(0);
});
