import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Task, Worktree } from "@dispatch/wire";

/** Runs git synchronously in `cwd` for test set-up and checks; throws with git's stderr on failure. */
export function git(cwd: string, ...args: string[]): string {
  const result = Bun.spawnSync(["git", ...args], {
    cwd,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: cwd,
      GIT_AUTHOR_NAME: "Test",
      GIT_AUTHOR_EMAIL: "test@example.com",
      GIT_COMMITTER_NAME: "Test",
      GIT_COMMITTER_EMAIL: "test@example.com",
      GIT_CONFIG_NOSYSTEM: "1",
    },
  });
  if (result.exitCode !== 0) {
    throw new Error(`git ${args.join(" ")} failed in ${cwd}: ${result.stderr.toString()}`);
  }
  return result.stdout.toString().trim();
}

/**
 * A repository at `<dir>/repo` on branch `main` with one commit, and a bare repository at
 * `<dir>/remote.git` as its remote `origin` (main pushed there).
 */
export function makeRepo(dir: string): { repo: string; bare: string; mainSha: string } {
  const repo = join(dir, "repo");
  const bare = join(dir, "remote.git");
  git(dir, "init", "-q", "-b", "main", repo);
  writeFileSync(join(repo, "README.md"), "# project\n");
  git(repo, "add", "README.md");
  git(repo, "commit", "-q", "-m", "initial");
  git(dir, "init", "-q", "--bare", bare);
  git(repo, "remote", "add", "origin", bare);
  git(repo, "push", "-q", "origin", "main");
  return { repo, bare, mainSha: git(repo, "rev-parse", "HEAD") };
}

/** Makes the bare repository refuse every push with `message` (a pre-receive hook exiting 1). */
export function refusePushes(bare: string, message: string): void {
  const hook = join(bare, "hooks", "pre-receive");
  writeFileSync(hook, `#!/bin/sh\necho "${message}" >&2\nexit 1\n`);
  chmodSync(hook, 0o755);
}

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** POST with a JSON body. */
export function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Queues a task and returns it. */
export async function addTask(url: string, body: Record<string, unknown>): Promise<Task> {
  return json<Task>(await post(`${url}/tasks`, body));
}

/** Polls a task until `done` holds (bounded). */
export async function waitForTask(
  url: string,
  id: string,
  done: (task: Task) => boolean,
  timeoutMs = 60_000,
): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await json<Task>(await fetch(`${url}/tasks/${id}`));
    if (done(task)) return task;
    if (Date.now() > deadline) throw new Error(`task ${id} is still ${task.status}: ${JSON.stringify(task)}`);
    await Bun.sleep(50);
  }
}

/** A worktree through the API. */
export async function getWorktree(url: string, id: string): Promise<Worktree> {
  return json<Worktree>(await fetch(`${url}/worktrees/${id}`));
}

/** Polls a worktree until `done` holds (bounded). */
export async function waitForWorktree(
  url: string,
  id: string,
  done: (worktree: Worktree) => boolean,
  timeoutMs = 60_000,
): Promise<Worktree> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/worktrees/${id}`);
    if (res.ok) {
      const worktree = (await res.json()) as Worktree;
      if (done(worktree)) return worktree;
      if (Date.now() > deadline) throw new Error(`worktree ${id}: ${JSON.stringify(worktree)}`);
    } else if (Date.now() > deadline) {
      throw new Error(`worktree ${id}: ${res.status} ${await res.text()}`);
    }
    await Bun.sleep(50);
  }
}
