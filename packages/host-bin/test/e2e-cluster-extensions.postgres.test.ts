import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@dispatch/conversation-store/testing";
import { startOpenAITestServer, type WireTestServer } from "@dispatch/providers/testing";
import type { UsageReport, Worktree } from "@dispatch/wire";
import { SQL } from "bun";
import { readEvents, waitForTurnEnd } from "./api-client.ts";
import { cleanup, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";
import { getWorktree, git, makeRepo, post, waitForWorktree } from "./git-fixtures.ts";

// git-workflows and usage on two `dispatch serve` processes sharing one PostgreSQL database:
// worktrees and their holds are shared rows, and a daily budget holds for the cluster.

setDefaultTimeout(240_000);
let server: WireTestServer | undefined;
const databases: TestDatabase[] = [];
afterEach(async () => {
  cleanup();
  await server?.stop();
  server = undefined;
  for (const database of databases.splice(0)) await database.drop();
});

async function database(): Promise<string> {
  const made = await createTestDatabase();
  databases.push(made);
  return made.url;
}

const cluster = { instanceTimeoutMs: 3_000, heartbeatMs: 300 };

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

async function extensionStates(url: string): Promise<Record<string, string>> {
  const health = await json<{ extensions: Array<{ id: string; state: string }> }>(
    await fetch(`${url}/health`),
  );
  return Object.fromEntries(health.extensions.map((e) => [e.id, e.state]));
}

async function say(url: string, conversationId: string, text: string): Promise<string> {
  const { turnId } = await json<{ turnId: string }>(
    await post(`${url}/conversations/${conversationId}/messages`, { text }),
  );
  return turnId;
}

const write = (path: string, content: string) => ({ tool: "write_file", input: { path, content } });

test("a worktree conversation across two hosts: one worktree, each host's turns commit there, and host A's hold is freed when it is killed", async () => {
  const dir = tempDir();
  const { repo } = makeRepo(dir);
  const config = writeConfig(dir, {
    store: { url: await database() },
    cluster,
    providers: [
      {
        id: "scripted",
        kind: "scripted",
        maxConcurrent: 4,
        script: {
          replies: [
            { when: "^first", steps: [write("a.txt", "from A\n"), { text: "A done" }] },
            { when: "^second", steps: [write("b.txt", "from B\n"), { text: "B done" }] },
            {
              when: "^hang",
              steps: [write("c.txt", "hanging\n"), { text: "slowly", chunks: 600, delayMs: 100 }],
            },
            { when: "^after", steps: [write("d.txt", "after\n"), { text: "after done" }] },
          ],
          fallback: { steps: [{ text: "nothing to do" }] },
        },
      },
    ],
    git: { tickMs: 100 },
  });
  const a = serveProcess({ config });
  const urlA = await a.child.url();
  const b = serveProcess({ config });
  const urlB = await b.child.url();
  for (const url of [urlA, urlB]) {
    const states = await extensionStates(url);
    expect([states["git-workflows"], states.usage]).toEqual(["active", "active"]);
  }
  expect((await post(`${urlA}/workspaces`, { id: "proj", root: repo })).status).toBe(201);
  const { id } = await json<{ id: string }>(
    await post(`${urlA}/workspaces/proj/conversations`, { worktree: true }),
  );

  await say(urlA, id, "first");
  expect(await waitForTurnEnd(urlA, id, 60_000)).toBe("completed");
  await say(urlB, id, "second");
  expect(await waitForTurnEnd(urlB, id, 60_000)).toBe("completed");
  const shared = await waitForWorktree(urlB, id, (w) => w.commits.length === 2);
  // made by host A under its data dir; host B's turn ran in the same one
  expect(shared.path).toBe(join(a.dataDir, "worktrees", "proj", id));
  expect(await getWorktree(urlA, id)).toEqual(shared);
  expect(git(repo, "show", `dispatch/${id}:a.txt`)).toBe("from A");
  expect(git(repo, "show", `dispatch/${id}:b.txt`)).toBe("from B");

  // host A dies mid-turn, holding the worktree: B frees the hold once A is declared dead
  await say(urlA, id, "hang on");
  await readEvents(urlA, id, (events) => events.some((e) => e.type === "text.delta"));
  expect((await getWorktree(urlB, id)).holder).toMatchObject({ kind: "conversation", id });
  a.child.proc.kill("SIGKILL");
  await a.child.exited;
  expect(await waitForTurnEnd(urlB, id, 60_000)).toBe("interrupted");
  const freed = await waitForWorktree(urlB, id, (w: Worktree) => w.holder === null);
  expect(freed.holder).toBeNull();
  await say(urlB, id, "after that");
  expect(await waitForTurnEnd(urlB, id, 60_000)).toBe("completed");
  expect(git(repo, "show", `dispatch/${id}:d.txt`)).toBe("after");
  b.child.proc.kill("SIGTERM");
  expect(await b.child.exitWithin(15_000)).toBe(0);
});

test("deleting a workspace on host B removes the worktree directories host A made", async () => {
  const dir = tempDir();
  const { repo } = makeRepo(dir);
  const config = writeConfig(dir, {
    store: { url: await database() },
    cluster,
    providers: [
      {
        id: "scripted",
        kind: "scripted",
        script: { replies: [], fallback: { steps: [write("a.txt", "a\n"), { text: "done" }] } },
      },
    ],
  });
  const a = serveProcess({ config });
  const urlA = await a.child.url();
  const b = serveProcess({ config });
  const urlB = await b.child.url();
  expect((await post(`${urlA}/workspaces`, { id: "proj", root: repo })).status).toBe(201);
  const { id } = await json<{ id: string }>(
    await post(`${urlA}/workspaces/proj/conversations`, { worktree: true }),
  );
  await say(urlA, id, "write");
  expect(await waitForTurnEnd(urlA, id, 60_000)).toBe("completed");
  const made = await waitForWorktree(urlA, id, (w) => w.commits.length === 1);
  expect(existsSync(made.path)).toBe(true);
  // B deletes the workspace and its worktree rows while A is paused (shorter than
  // instanceTimeoutMs); A then hears of it through the database and finds no rows left, yet
  // removes the directory under its data dir
  a.child.proc.kill("SIGSTOP");
  try {
    expect((await fetch(`${urlB}/workspaces/proj`, { method: "DELETE" })).status).toBe(204);
    for (const deadline = Date.now() + 2_000; (await fetch(`${urlB}/worktrees/${id}`)).status !== 404; )
      if (Date.now() > deadline) throw new Error("host B kept the worktree's row");
  } finally {
    a.child.proc.kill("SIGCONT");
  }
  for (const deadline = Date.now() + 30_000; existsSync(made.path); await Bun.sleep(50))
    if (Date.now() > deadline) throw new Error(`${made.path} is still there`);
  for (const url of [urlA, urlB]) expect((await fetch(`${url}/worktrees/${id}`)).status).toBe(404);
  for (const child of [a.child, b.child]) {
    child.proc.kill("SIGTERM");
    expect(await child.exitWithin(15_000)).toBe(0);
  }
});

test("a daily budget holds across two hosts: calls in flight cluster-wide never hold more than it", async () => {
  server = startOpenAITestServer();
  // every call holds its estimate (the prompt with the tools, about 1250 tokens, plus 1000 of output
  // reserve) while its slow stream runs and is charged 2 tokens after: so the budget of 5000 lets at
  // most two calls run at once
  server.setResponder(() => ({
    stream: Array.from({ length: 6 }, (_, i) => [{ text: `part ${i} ` }, { delayMs: 100 }]).flat(),
    usage: { input: 1, output: 1 },
  }));
  const url = await database();
  const config = writeConfig(tempDir(), {
    store: { url },
    cluster,
    providers: [
      { id: "fake", kind: "openai-compatible", baseURL: server.baseURL, models: ["m"], maxConcurrent: 20 },
    ],
    defaults: { provider: "fake", model: "m" },
    budgets: { workspaceDailyTokens: 5000, outputReserveTokens: 1000 },
  });
  const a = serveProcess({ config }).child;
  const urlA = await a.url();
  const b = serveProcess({ config }).child;
  const urlB = await b.url();
  const conversations = await Promise.all(
    Array.from({ length: 12 }, async (_, i) => {
      const host = i % 2 === 0 ? urlA : urlB;
      const { id } = await json<{ id: string }>(await post(`${host}/workspaces/default/conversations`, {}));
      return { id, host };
    }),
  );
  await Promise.all(conversations.map(({ id, host }) => say(host, id, "go")));
  const ends = await Promise.all(conversations.map(({ id, host }) => waitForTurnEnd(host, id, 60_000)));
  const completed = ends.filter((s) => s === "completed").length;
  expect(completed + ends.filter((s) => s === "failed").length).toBe(12);
  // the budget was reached (so a breach could have shown) and never passed
  expect(server.maxInFlight).toBe(2);
  expect(completed).toBe(server.requests.length);
  const refused = conversations[ends.indexOf("failed")];
  if (refused !== undefined) {
    const events = await readEvents(refused.host, refused.id, (seen) =>
      seen.some((e) => e.type === "turn.failed"),
    );
    expect(events.at(-1)?.data).toMatchObject({ code: "budget_exceeded" });
  }
  // both hosts report the cluster's usage, from the shared rows
  for (const host of [urlA, urlB]) {
    const report = await json<UsageReport>(await fetch(`${host}/usage?groupBy=day`));
    expect(report.total.calls).toBe(completed);
  }
  const peek = new SQL(url, { max: 1 });
  try {
    const [left] = await peek`select count(*)::int as n from usage_reservations`;
    expect(left?.n).toBe(0);
  } finally {
    await peek.close();
  }
  for (const child of [a, b]) {
    child.proc.kill("SIGTERM");
    expect(await child.exitWithin(15_000)).toBe(0);
  }
});
