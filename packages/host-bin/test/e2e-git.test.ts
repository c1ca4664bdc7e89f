import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Worktree } from "@dispatch/wire";
import { waitForTurnEnd } from "./api-client.ts";
import { cleanup, DispatchProcess, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";
import {
  addTask,
  getWorktree,
  git,
  makeRepo,
  post,
  refusePushes,
  waitForTask,
  waitForWorktree,
} from "./git-fixtures.ts";

setDefaultTimeout(180_000);
afterEach(cleanup);

const write = (path: string, content: string) => ({ tool: "write_file", input: { path, content } });

/** Each reply writes a file with the tools, then streams its answer (slowly where runs must overlap). */
const scripted = {
  id: "scripted",
  kind: "scripted",
  maxConcurrent: 4,
  script: {
    replies: [
      {
        when: "^write A",
        steps: [write("shared.txt", "from A\n"), { text: "A done", chunks: 10, delayMs: 150 }],
      },
      {
        when: "^write B",
        steps: [write("shared.txt", "from B\n"), { text: "B done", chunks: 10, delayMs: 150 }],
      },
      {
        when: "^slow",
        steps: [write("notes.txt", "slow work\n"), { text: "slowly", chunks: 20, delayMs: 100 }],
      },
      {
        when: "^crawl",
        steps: [write("crawl.txt", "crawling\n"), { text: "crawled", chunks: 40, delayMs: 100 }],
      },
      { when: "^quick", steps: [write("quick.txt", "quick\n"), { text: "quick done" }] },
      { when: "^follow", steps: [write("follow.txt", "follow-up\n"), { text: "followed" }] },
    ],
    fallback: { steps: [{ text: "nothing to do" }] },
  },
};

const author = { name: "Dispatch Bot", email: "bot@example.com" };

async function addWorkspace(url: string, root: string): Promise<void> {
  const res = await post(`${url}/workspaces`, { id: "proj", root });
  expect(res.status).toBe(201);
}

/**
 * The metrics text once it shows every one of `lines` (bounded): the push-status gauge is refreshed
 * on git-workflows' tick, so it can lag the task it counts by up to a tick.
 */
async function metricsShowing(url: string, ...lines: string[]): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = await (await fetch(`${url}/metrics`)).text();
    if (lines.every((line) => text.includes(line)) || Date.now() > deadline) return text;
    await Bun.sleep(100);
  }
}

test("two tasks at once on one workspace: each in its own worktree and branch, both pushed, main untouched", async () => {
  const dir = tempDir();
  const { repo, bare, mainSha } = makeRepo(dir);
  const config = writeConfig(dir, {
    providers: [scripted],
    tasks: { tickMs: 50, maxRunning: 2 },
    git: { remote: "origin", author, tickMs: 50 },
  });
  const { child, dataDir } = serveProcess({ config });
  const url = await child.url();
  await addWorkspace(url, repo);
  const a = await addTask(url, { workspaceId: "proj", spec: "write A", title: "Task A", worktree: true });
  const b = await addTask(url, { workspaceId: "proj", spec: "write B", title: "Task B", worktree: true });
  // both attempts run at the same time
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [ta, tb] = await Promise.all([a, b].map((t) => waitForTask(url, t.id, () => true)));
    if (ta?.status === "running" && tb?.status === "running") break;
    if (Date.now() > deadline) throw new Error(`never both running: ${ta?.status} ${tb?.status}`);
    await Bun.sleep(20);
  }
  for (const [task, content, title] of [
    [a, "from A\n", "Task A"],
    [b, "from B\n", "Task B"],
  ] as const) {
    const done = await waitForTask(url, task.id, (t) => t.result?.pushStatus === "pushed");
    expect(done.status).toBe("completed");
    const branch = `dispatch/${task.id}`;
    const result = done.result as { branch: string; worktree: string; commits: Array<{ sha: string }> };
    expect(result.branch).toBe(branch);
    expect(result.worktree).toBe(join(dataDir, "worktrees", "proj", task.id));
    expect(result.commits).toHaveLength(1);
    // the bare remote has the branch at the run's own commit, with the run's own file
    expect(git(bare, "rev-parse", `refs/heads/${branch}`)).toBe(result.commits[0]?.sha as string);
    expect(git(bare, "show", `${branch}:shared.txt`)).toBe(content.trim());
    expect(git(bare, "log", "-1", "--format=%s|%an <%ae>", branch)).toBe(
      `${title}|${author.name} <${author.email}>`,
    );
    expect(git(bare, "log", "-1", "--format=%b", branch)).toContain(`Dispatch-Task: ${task.id}`);
    expect(git(bare, "rev-parse", `${branch}~1`)).toBe(mainSha);
    const worktree = await getWorktree(url, task.id);
    expect(worktree).toMatchObject({ kind: "task", state: "active", holder: null, pushStatus: "pushed" });
  }
  // the workspace itself is untouched: main where it was, nothing written at its root
  expect(git(repo, "rev-parse", "main")).toBe(mainSha);
  expect(git(repo, "symbolic-ref", "--short", "HEAD")).toBe("main");
  expect(git(repo, "status", "--porcelain")).toBe("");
  expect(existsSync(join(repo, "shared.txt"))).toBe(false);
  expect(git(bare, "rev-parse", "main")).toBe(mainSha);
  const metrics = await metricsShowing(
    url,
    'dispatch_git_push_status{status="pushed"} 2',
    "dispatch_git_commits_total 2",
  );
  expect(metrics).toContain('dispatch_git_push_status{status="pushed"} 2');
  expect(metrics).toContain("dispatch_git_commits_total 2");
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(15_000)).toBe(0);
});

test("a remote whose pre-receive hook refuses: the task completes with pushStatus failed and the hook's message; a retried push after the fix succeeds", async () => {
  const dir = tempDir();
  const { repo, bare } = makeRepo(dir);
  refusePushes(bare, "push refused by policy: no robots");
  const config = writeConfig(dir, {
    providers: [scripted],
    tasks: { tickMs: 50 },
    git: { remote: "origin", tickMs: 50, push: { attempts: 2, backoffMs: [100] } },
  });
  const { child } = serveProcess({ config });
  const url = await child.url();
  await addWorkspace(url, repo);
  const task = await addTask(url, { workspaceId: "proj", spec: "quick one", worktree: true });
  const failed = await waitForTask(url, task.id, (t) => t.result?.pushStatus === "failed");
  expect(failed.status).toBe("completed");
  expect(failed.result?.pushError).toContain("push refused by policy: no robots");
  expect(failed.result?.pushError).toContain("pre-receive hook declined");
  const worktree = await getWorktree(url, task.id);
  expect(worktree).toMatchObject({ pushStatus: "failed", pushAttempts: 2, nextPushAt: null });
  const metrics = await metricsShowing(
    url,
    'dispatch_git_push_status{status="failed"} 1',
    'dispatch_git_pushes_total{outcome="retry"} 1',
    'dispatch_git_pushes_total{outcome="failed"} 1',
  );
  expect(metrics).toContain('dispatch_git_push_status{status="failed"} 1');
  expect(metrics).toContain('dispatch_git_pushes_total{outcome="retry"} 1');
  expect(metrics).toContain('dispatch_git_pushes_total{outcome="failed"} 1');
  expect(() => git(bare, "rev-parse", "--verify", `refs/heads/dispatch/${task.id}`)).toThrow();

  // the remote is fixed; the retry trigger pushes now and answers after the try
  rmSync(join(bare, "hooks", "pre-receive"));
  const res = await post(`${url}/worktrees/${task.id}/push`, {});
  expect(res.status).toBe(200);
  const pushed = (await res.json()) as Worktree;
  expect(pushed).toMatchObject({ pushStatus: "pushed", pushError: null });
  expect(git(bare, "rev-parse", `refs/heads/dispatch/${task.id}`)).toBe(pushed.pushedSha as string);
  const after = await waitForTask(url, task.id, (t) => t.result?.pushStatus === "pushed");
  expect(after.result).toMatchObject({ pushStatus: "pushed", pushError: null, pushedSha: pushed.pushedSha });
  expect(after.status).toBe("completed");
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(15_000)).toBe(0);
});

test("a failing validation fails the attempt and the task retries in the same worktree; a second run on it meanwhile gets 409 naming the holder; a passing one is recorded with its output tail", async () => {
  const dir = tempDir();
  const { repo } = makeRepo(dir);
  const mark = join(dir, "validated-once");
  const command = `if [ -e '${mark}' ]; then echo "all checks passed"; else touch '${mark}'; seq 1 3000; echo "check failed: notes are wrong"; exit 3; fi`;
  const config = writeConfig(dir, {
    providers: [scripted],
    tasks: { tickMs: 50, retryBackoffMs: [300], maxAttempts: 3 },
    git: { tickMs: 50 },
  });
  const { child } = serveProcess({ config });
  const url = await child.url();
  await addWorkspace(url, repo);
  const task = await addTask(url, {
    workspaceId: "proj",
    spec: "slow notes",
    worktree: true,
    validate: { command, timeoutMs: 60_000 },
  });
  const retrying = await waitForTask(url, task.id, (t) => t.attempts[0]?.status === "failed");
  expect(retrying.lastError).toBe("validation failed (exit 3): check failed: notes are wrong");
  const firstResult = retrying.result as { validation: { status: string; exitCode: number; output: string } };
  expect(firstResult.validation).toMatchObject({ status: "failed", exitCode: 3 });
  expect(firstResult.validation.output.endsWith("2999\n3000\ncheck failed: notes are wrong\n")).toBe(true);
  expect(Buffer.byteLength(firstResult.validation.output)).toBeLessThanOrEqual(4096);
  expect(firstResult.validation.output.startsWith("1\n2\n")).toBe(false);

  // while attempt 2 runs, a turn in attempt 1's conversation (bound to the same worktree) is refused
  const running = await waitForTask(
    url,
    task.id,
    (t) => t.attempts[1]?.status === "running" && t.attempts[1]?.turnId !== null,
  );
  const firstConversation = running.attempts[0]?.conversationId as string;
  const refused = await post(`${url}/conversations/${firstConversation}/messages`, { text: "follow up" });
  expect(refused.status).toBe(409);
  const body = (await refused.json()) as {
    error: { code: string; message: string; details: { holder: unknown } };
  };
  expect(body.error.code).toBe("conflict");
  expect(body.error.message).toContain(`held by task ${task.id} attempt 2`);
  expect(body.error.details.holder).toMatchObject({ kind: "task", id: task.id, attempt: 2 });

  const done = await waitForTask(url, task.id, (t) => t.status === "completed");
  expect(done.attempts.map((x) => x.status)).toEqual(["failed", "completed"]);
  expect(done.result?.validation).toMatchObject({
    status: "passed",
    exitCode: 0,
    output: "all checks passed\n",
  });
  expect(done.result?.worktree).toBe((retrying.result as { worktree: string }).worktree);
  expect(done.result?.pushStatus).toBeNull();
  const metrics = await metricsShowing(
    url,
    'dispatch_git_validations_total{status="failed"} 1',
    'dispatch_git_validations_total{status="passed"} 1',
  );
  expect(metrics).toContain('dispatch_git_validations_total{status="failed"} 1');
  expect(metrics).toContain('dispatch_git_validations_total{status="passed"} 1');

  // once the task is done the worktree is free: the follow-up runs there and commits
  const followed = await post(`${url}/conversations/${firstConversation}/messages`, { text: "follow up" });
  expect(followed.status).toBe(202);
  expect(await waitForTurnEnd(url, firstConversation)).toBe("completed");
  const worktree = await getWorktree(url, task.id);
  expect(worktree.holder).toBeNull();
  expect(worktree.commits).toHaveLength(2);
  expect(git(repo, "show", `dispatch/${task.id}:follow.txt`)).toBe("follow-up");
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(15_000)).toBe(0);
});

test("kill -9 mid-run, worktree directory gone meanwhile: after a restart it is made again from its branch, the retried attempt completes, nothing stays locked", async () => {
  const dir = tempDir();
  const dataDir = tempDir();
  const { repo } = makeRepo(dir);
  const config = writeConfig(dir, { providers: [scripted], tasks: { tickMs: 50 }, git: { tickMs: 50 } });
  const args = ["serve", "--data-dir", dataDir, "--port", "0", "--config", config];
  const first = new DispatchProcess(args);
  const url = await first.url();
  await addWorkspace(url, repo);
  const task = await addTask(url, { workspaceId: "proj", spec: "crawl along", worktree: true });
  const path = join(dataDir, "worktrees", "proj", task.id);
  const deadline = Date.now() + 30_000;
  while (!existsSync(join(path, "crawl.txt"))) {
    if (Date.now() > deadline) throw new Error("the first attempt never wrote its file");
    await Bun.sleep(20);
  }
  expect((await getWorktree(url, task.id)).holder).toMatchObject({ kind: "task", attempt: 1 });
  first.proc.kill("SIGKILL");
  await first.exited;
  rmSync(path, { recursive: true, force: true });

  const second = new DispatchProcess(args);
  const again = await second.url();
  const done = await waitForTask(again, task.id, (t) => t.status === "completed");
  expect(done.attempts.map((a) => a.status)).toEqual(["interrupted", "completed"]);
  expect(done.result?.worktree).toBe(path);
  expect(readFileSync(join(path, "crawl.txt"), "utf8")).toBe("crawling\n");
  const worktree = await waitForWorktree(again, task.id, (w) => w.holder === null);
  expect(worktree).toMatchObject({
    state: "active",
    commits: [expect.objectContaining({ subject: "crawl along" })],
  });
  expect(second.records().some((r) => r.msg === "freed worktree holds left by the last run")).toBe(true);
  expect(second.records().some((r) => String(r.msg).includes("directory had vanished"))).toBe(true);
  // git's own view: one worktree at the path, not locked, and no lock file left in its admin dir
  const listing = git(repo, "worktree", "list", "--porcelain");
  expect(listing.split("\n").filter((line) => line === `worktree ${path}`)).toHaveLength(1);
  expect(listing).not.toContain("locked");
  expect(listing).not.toContain("prunable");
  for (const name of readdirSync(join(repo, ".git", "worktrees"))) {
    expect(existsSync(join(repo, ".git", "worktrees", name, "index.lock"))).toBe(false);
  }
  second.proc.kill("SIGTERM");
  expect(await second.exitWithin(15_000)).toBe(0);
});

test("a conversation created with worktree: true runs and commits in its own worktree and pushes; git's message reaches the client", async () => {
  const dir = tempDir();
  const { repo, bare } = makeRepo(dir);
  const config = writeConfig(dir, {
    providers: [scripted],
    git: { remote: "origin", tickMs: 50 },
  });
  const { child, dataDir } = serveProcess({ config });
  const url = await child.url();
  await addWorkspace(url, repo);

  // the default workspace is no git repository
  const notRepo = await post(`${url}/workspaces/default/conversations`, { worktree: true });
  expect(notRepo.status).toBe(400);
  expect(((await notRepo.json()) as { error: { code: string } }).error.code).toBe("not_a_git_repository");
  const noWorktree = await post(`${url}/workspaces/proj/conversations`, { baseRef: "main" });
  expect(noWorktree.status).toBe(400);

  const created = await post(`${url}/workspaces/proj/conversations`, { worktree: true, title: "Quick fix" });
  expect(created.status).toBe(201);
  const conversation = (await created.json()) as { id: string };
  const sent = await post(`${url}/conversations/${conversation.id}/messages`, {
    text: "quick change please",
  });
  expect(sent.status).toBe(202);
  expect(await waitForTurnEnd(url, conversation.id)).toBe("completed");
  const path = join(dataDir, "worktrees", "proj", conversation.id);
  expect(readFileSync(join(path, "quick.txt"), "utf8")).toBe("quick\n");
  expect(existsSync(join(repo, "quick.txt"))).toBe(false);
  const worktree = await waitForWorktree(url, conversation.id, (w) => w.pushStatus === "pushed");
  expect(worktree).toMatchObject({
    kind: "conversation",
    branch: `dispatch/${conversation.id}`,
    holder: null,
  });
  expect(worktree.commits).toEqual([{ sha: worktree.pushedSha as string, subject: "Quick fix" }]);
  expect(git(bare, "show", `dispatch/${conversation.id}:quick.txt`)).toBe("quick");

  // a base that does not exist is refused at creation, with git's own message
  const badBase = await post(`${url}/workspaces/proj/conversations`, {
    worktree: true,
    baseRef: "no-such-branch",
  });
  expect(badBase.status).toBe(400);
  const error = ((await badBase.json()) as { error: { code: string; message: string; details: unknown } })
    .error;
  expect(error.message).toContain('baseRef "no-such-branch"');
  expect(error.message).toContain("fatal: Needed a single revision");
  expect(error.details).toMatchObject({ field: "baseRef" });

  // a worktree directory taken by something else is reported, not deleted: the turn gets git's message
  const blocked = (await (await post(`${url}/workspaces/proj/conversations`, { worktree: true })).json()) as {
    id: string;
  };
  const blockedPath = join(dataDir, "worktrees", "proj", blocked.id);
  mkdirSync(blockedPath, { recursive: true });
  writeFileSync(join(blockedPath, "precious.txt"), "not git's\n");
  const refused = await post(`${url}/conversations/${blocked.id}/messages`, { text: "quick" });
  expect(refused.status).toBe(502);
  const gitError = ((await refused.json()) as { error: { code: string; message: string } }).error;
  expect(gitError.code).toBe("git_failed");
  expect(gitError.message).toContain("already exists");
  expect(readFileSync(join(blockedPath, "precious.txt"), "utf8")).toBe("not git's\n");
  expect((await getWorktree(url, blocked.id)).holder).toBeNull();
  const list = (await (await fetch(`${url}/worktrees?workspaceId=proj`)).json()) as { worktrees: Worktree[] };
  expect(list.worktrees.map((w) => w.id).sort()).toEqual([blocked.id, conversation.id].sort());
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(15_000)).toBe(0);
});
