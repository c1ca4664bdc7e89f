import { afterEach, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type GitHost, startGitHost } from "./git-host.ts";
import { git, makeRepo, removeTempDirs } from "./repo-fixture.ts";

/**
 * The clean-up cases through a real host, on SQLite (test/maintenance.test.ts) or on a Postgres
 * database from `storeUrl` (test/maintenance.postgres.test.ts).
 */
export function maintenanceCases(storeUrl?: () => Promise<{ url: string; drop(): Promise<void> }>): void {
  let host: GitHost | undefined;
  let database: { url: string; drop(): Promise<void> } | undefined;
  afterEach(async () => {
    await host?.test.stop();
    host = undefined;
    await database?.drop();
    database = undefined;
    removeTempDirs();
  });

  async function startHost(options: Omit<Parameters<typeof startGitHost>[0], "storeUrl">): Promise<GitHost> {
    database = storeUrl === undefined ? undefined : await storeUrl();
    return startGitHost({ ...options, ...(database === undefined ? {} : { storeUrl: database.url }) });
  }

  const write = (path: string, content: string) => ({ tool: "write_file", input: { path, content } });
  const script = {
    replies: [
      { when: "^slow", steps: [write("a.txt", "a\n"), { text: "slowly", chunks: 10, delayMs: 100 }] },
      { when: "^again", steps: [write("b.txt", "b\n"), { text: "again" }] },
      { when: "^task", steps: [write("t.txt", "t\n"), { text: "task done" }] },
    ],
    fallback: { steps: [{ text: "ok" }] },
  };

  async function start(gitConfig: Record<string, unknown> = {}): Promise<{ h: GitHost; repo: string }> {
    const repo = makeRepo();
    host = await startHost({ script, git: gitConfig });
    const res = await host.post("/workspaces", { id: "proj", root: repo });
    expect(res.status).toBe(201);
    return { h: host, repo };
  }

  async function conversation(h: GitHost): Promise<string> {
    const res = await h.post("/workspaces/proj/conversations", { worktree: true });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  async function say(h: GitHost, id: string, text: string): Promise<void> {
    const res = await h.post(`/conversations/${id}/messages`, { text });
    expect(res.status).toBe(202);
    expect(await h.turnEnded(id)).toBe("completed");
  }

  test("past git.retainMs a free worktree is removed (never while a turn holds it), its branch stays, and the next turn makes it again", async () => {
    // retainMs 0: every sweep (each 20 ms) would remove it as soon as it is free
    const { h, repo } = await start({ retainMs: 0 });
    const id = await conversation(h);
    await say(h, id, "slow work");
    // the turn held the worktree through the sweeps, so its commit is there
    const removed = await h.waitForWorktree(id, (w) => w?.state === "removed");
    expect(removed?.commits).toHaveLength(1);
    expect(existsSync(removed?.path as string)).toBe(false);
    expect(git(repo, "show", `dispatch/${id}:a.txt`)).toBe("a");
    expect(git(repo, "worktree", "list", "--porcelain")).not.toContain(removed?.path as string);

    await say(h, id, "again please");
    const after = await h.waitForWorktree(id, (w) => w?.commits.length === 2);
    expect(git(repo, "show", `dispatch/${id}:a.txt`)).toBe("a");
    expect(git(repo, "show", `dispatch/${id}:b.txt`)).toBe("b");
    expect(after?.path).toBe(removed?.path as string);
  });

  test("deleting a task removes its worktree and its record; the branch stays", async () => {
    const { h, repo } = await start();
    const created = await h.post("/tasks", { workspaceId: "proj", spec: "task work", worktree: true });
    const task = (await created.json()) as { id: string };
    const done = await h.waitForWorktree(task.id, (w) => w?.commits.length === 1 && w.holder === null);
    await (async () => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const t = (await (await fetch(`${h.url}/tasks/${task.id}`)).json()) as { status: string };
        if (t.status === "completed") return;
        if (Date.now() > deadline) throw new Error(`task still ${t.status}`);
        await Bun.sleep(20);
      }
    })();
    const deleted = await fetch(`${h.url}/tasks/${task.id}`, { method: "DELETE" });
    expect(deleted.status).toBe(204);
    await h.waitForWorktree(task.id, (w) => w === undefined);
    expect(existsSync(done?.path as string)).toBe(false);
    expect(git(repo, "show", `dispatch/${task.id}:t.txt`)).toBe("t");
  });

  test("deleting a workspace forgets its worktrees and removes their directories; the branches stay", async () => {
    const { h, repo } = await start();
    const id = await conversation(h);
    await say(h, id, "again please");
    const made = await h.waitForWorktree(id, (w) => w?.commits.length === 1);
    expect(existsSync(made?.path as string)).toBe(true);
    const deleted = await fetch(`${h.url}/workspaces/proj`, { method: "DELETE" });
    expect(deleted.status).toBe(204);
    await h.waitForWorktree(id, (w) => w === undefined);
    for (const deadline = Date.now() + 30_000; existsSync(made?.path as string); await Bun.sleep(20))
      if (Date.now() > deadline) throw new Error(`${made?.path} is still there`);
    expect(git(repo, "show", `dispatch/${id}:b.txt`)).toBe("b");
  });

  test("a stale index.lock left by a killed git is cleared before the next turn, which commits", async () => {
    const { h, repo } = await start();
    const id = await conversation(h);
    await say(h, id, "slow work");
    const worktree = await h.worktree(id);
    const adminDir = git(worktree?.path as string, "rev-parse", "--absolute-git-dir");
    expect(adminDir.startsWith(join(repo, ".git", "worktrees"))).toBe(true);
    writeFileSync(join(adminDir, "index.lock"), "");
    await say(h, id, "again please");
    expect((await h.worktree(id))?.commits).toHaveLength(2);
    expect(existsSync(join(adminDir, "index.lock"))).toBe(false);
    expect(h.test.logs.some((r) => r.msg.startsWith("removed a stale index.lock"))).toBe(true);
  });

  test("a workspace that is no git repository refuses worktree tasks finally, naming git's message", async () => {
    host = await startHost({ script });
    const created = await host.post("/tasks", { workspaceId: "default", spec: "task work", worktree: true });
    const task = (await created.json()) as { id: string };
    const deadline = Date.now() + 30_000;
    for (;;) {
      const t = (await (await fetch(`${host.url}/tasks/${task.id}`)).json()) as {
        status: string;
        lastError: string | null;
        attempts: unknown[];
      };
      if (t.status === "failed") {
        expect(t.attempts).toHaveLength(1);
        expect(t.lastError).toContain("not a git repository");
        return;
      }
      if (Date.now() > deadline) throw new Error(`task still ${t.status}`);
      await Bun.sleep(20);
    }
  });

  test("validate without a worktree runs at the workspace root, and the result has no git fields", async () => {
    const { h, repo } = await start();
    const created = await h.post("/tasks", {
      workspaceId: "proj",
      spec: "task work",
      validate: { command: "pwd; test -f t.txt && echo found", timeoutMs: 30_000 },
    });
    const task = (await created.json()) as { id: string };
    const deadline = Date.now() + 30_000;
    for (;;) {
      const t = (await (await fetch(`${h.url}/tasks/${task.id}`)).json()) as {
        status: string;
        result: Record<string, unknown> | null;
      };
      if (t.status === "completed") {
        expect(t.result?.validation).toMatchObject({ status: "passed", output: `${repo}\nfound\n` });
        expect(t.result?.branch).toBeUndefined();
        expect(await h.worktree(task.id)).toBeUndefined();
        return;
      }
      if (Date.now() > deadline) throw new Error(`task still ${t.status}`);
      await Bun.sleep(20);
    }
  });
}
