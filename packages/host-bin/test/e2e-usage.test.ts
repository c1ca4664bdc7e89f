import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Task, UsageReport } from "@dispatch/wire";
import { type ApiEvent, readEvents, waitForTurnEnd } from "./api-client.ts";
import { cleanup, DispatchProcess, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";

setDefaultTimeout(180_000);
afterEach(cleanup);

const day = 86_400_000;
const summariserInstruction = "Summarise the conversation below";

async function json<T>(res: Response): Promise<T> {
  if (!res.ok) throw new Error(`${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

function post(url: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function conversation(url: string, workspaceId = "default"): Promise<string> {
  return (await json<{ id: string }>(await post(url, `/workspaces/${workspaceId}/conversations`, {}))).id;
}

async function workspace(url: string, id: string): Promise<void> {
  await json(await post(url, "/workspaces", { id }));
}

/** Posts `text` and waits for the turn to end; returns that turn's events. */
async function turn(url: string, conversationId: string, text: string): Promise<ApiEvent[]> {
  const posted = await json<{ turnId: string }>(
    await post(url, `/conversations/${conversationId}/messages`, { text }),
  );
  await waitForTurnEnd(url, conversationId, 60_000);
  return eventsOfTurn(url, conversationId, posted.turnId);
}

const finalTypes = new Set(["turn.completed", "turn.failed", "turn.cancelled", "turn.interrupted"]);

async function eventsOfTurn(url: string, conversationId: string, turnId: string): Promise<ApiEvent[]> {
  const events = await readEvents(url, conversationId, (seen) =>
    seen.some((e) => e.turnId === turnId && finalTypes.has(e.type)),
  );
  return events.filter((e) => e.turnId === turnId);
}

async function usage(url: string, query: string): Promise<UsageReport> {
  return json<UsageReport>(await fetch(`${url}/usage?${query}`));
}

type Usage = { inputTokens: number; outputTokens: number; cachedInputTokens: number };
const usageOf = (events: ApiEvent[]) => events.at(-1)?.data.usage as Usage;

/** A clock-offset file that puts the host's budget clock at noon of today (UTC), so no test runs across midnight. */
function noonClock(): { file: string; env: Record<string, string>; shift(ms: number): void } {
  const file = join(tempDir(), "clock-offset");
  const now = Date.now();
  const base = now - (now % day) + day / 2 - now;
  writeFileSync(file, String(base));
  return {
    file,
    env: { DISPATCH_TEST_CLOCK_OFFSET_FILE: file },
    shift: (ms) => writeFileSync(file, String(base + ms)),
  };
}

function scripted(script: unknown, extra: Record<string, unknown> = {}) {
  return { id: "scripted", kind: "scripted", maxConcurrent: 4, script, ...extra };
}

test("GET /usage sums equal the usage of every turn, by conversation, model and day; /metrics counts tokens; prices give cost", async () => {
  const config = writeConfig(tempDir(), {
    providers: [
      scripted({
        replies: [
          {
            when: "^tools",
            steps: [
              { tool: "list_dir", input: { path: "." }, usage: { input: 1200, output: 30, cached: 1000 } },
              { tool: "list_dir", input: { path: "./" }, usage: { input: 1500, output: 40 } },
              { text: "Listed twice.", usage: { input: 1800, output: 50, cached: 1500 } },
            ],
          },
        ],
        fallback: { steps: [{ text: "Plain answer." }] },
      }),
    ],
    budgets: { prices: { scripted: { demo: { input: 3, output: 15, cachedInput: 0.3 } } } },
  });
  const { child } = serveProcess({ config });
  const url = await child.url();
  await workspace(url, "second");
  const turns: Array<{ conversationId: string; workspaceId: string; usage: Usage }> = [];
  for (const [workspaceId, text] of [
    ["default", "tools please"],
    ["default", "just talk"],
    ["second", "tools again"],
  ] as const) {
    const conversationId = await conversation(url, workspaceId);
    const events = await turn(url, conversationId, text);
    expect(events.at(-1)?.type).toBe("turn.completed");
    turns.push({ conversationId, workspaceId, usage: usageOf(events) });
    // a second turn in the same conversation adds to it
    const again = await turn(url, conversationId, "and once more");
    turns.push({ conversationId, workspaceId, usage: usageOf(again) });
  }
  const sum = (list: typeof turns) =>
    list.reduce(
      (acc, t) => ({
        inputTokens: acc.inputTokens + t.usage.inputTokens,
        outputTokens: acc.outputTokens + t.usage.outputTokens,
        cachedInputTokens: acc.cachedInputTokens + t.usage.cachedInputTokens,
      }),
      { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 },
    );
  const all = sum(turns);
  expect(all.cachedInputTokens).toBe(5000);

  const byConversation = await usage(url, "groupBy=conversation");
  expect(byConversation.total).toMatchObject({
    ...all,
    totalTokens: all.inputTokens + all.outputTokens,
    calls: 10,
  });
  for (const id of new Set(turns.map((t) => t.conversationId))) {
    const group = byConversation.groups.find((g) => g.conversationId === id);
    expect(group).toMatchObject(sum(turns.filter((t) => t.conversationId === id)));
  }
  const second = await usage(url, "groupBy=model&workspaceId=second");
  expect(second.groups).toHaveLength(1);
  expect(second.groups[0]).toMatchObject({
    provider: "scripted",
    model: "demo",
    ...sum(turns.filter((t) => t.workspaceId === "second")),
  });
  const byDay = await usage(url, "groupBy=day");
  expect(byDay.groups).toHaveLength(1);
  expect(byDay.groups[0]).toMatchObject({
    ...all,
    day: new Date().toISOString().slice(0, 10),
    unpricedCalls: 0,
  });
  const cost =
    ((all.inputTokens - all.cachedInputTokens) * 3 + all.cachedInputTokens * 0.3 + all.outputTokens * 15) /
    1e6;
  expect(byDay.total.cost).toBeCloseTo(cost, 9);
  // a window that ends before the calls is empty
  expect((await usage(url, "groupBy=day&to=2000-01-01")).total.calls).toBe(0);

  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(metrics).toContain(
    `dispatch_tokens_total{provider="scripted",model="demo",kind="input"} ${all.inputTokens}`,
  );
  expect(metrics).toContain(
    `dispatch_tokens_total{provider="scripted",model="demo",kind="output"} ${all.outputTokens}`,
  );
  expect(metrics).toContain(`dispatch_tokens_total{provider="scripted",model="demo",kind="cached"} 5000`);

  const bad = await fetch(`${url}/usage?groupBy=week&limit=2`);
  expect(bad.status).toBe(400);
  const body = (await bad.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe("invalid_request");
  expect(body.error.message).toContain("groupBy");
  expect(body.error.message).toContain("limit: unknown query parameter");
  const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
  expect(Object.keys(openapi.paths)).toContain("/usage");
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});

test("a per-turn budget stops a turn mid-way with budget_exceeded naming the budget", async () => {
  const big = { input: 100_000, output: 0 };
  const config = writeConfig(tempDir(), {
    providers: [
      scripted({
        replies: [],
        fallback: {
          steps: [
            { tool: "list_dir", input: { path: "a" }, usage: big },
            { tool: "list_dir", input: { path: "b" }, usage: big },
            { tool: "list_dir", input: { path: "c" }, usage: big },
            { tool: "list_dir", input: { path: "d" }, usage: big },
            { text: "never reached", usage: big },
          ],
        },
      }),
    ],
    budgets: { perTurnTokens: 250_000, outputReserveTokens: 0 },
  });
  const { child } = serveProcess({ config });
  const url = await child.url();
  const conversationId = await conversation(url);
  const events = await turn(url, conversationId, "work through the list");
  const final = events.at(-1);
  expect(final?.type).toBe("turn.failed");
  expect(final?.data).toMatchObject({ code: "budget_exceeded", step: 4, usage: { inputTokens: 300_000 } });
  expect(String(final?.data.error)).toContain("the perTurnTokens budget (250000) would be passed");
  // three calls ran and were recorded; the fourth was never made
  expect(events.filter((e) => e.type === "step.started")).toHaveLength(3);
  expect((await usage(url, "groupBy=conversation")).total).toMatchObject({ calls: 3, inputTokens: 300_000 });
  const metrics = await (await fetch(`${url}/metrics`)).text();
  expect(metrics).toContain('dispatch_budget_refusals_total{budget="perTurnTokens"} 1');
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});

test("a spent daily workspace budget refuses the next turn (and a task waits for the next day); after the day changes the turn runs", async () => {
  const clock = noonClock();
  const config = writeConfig(tempDir(), {
    providers: [
      scripted({
        replies: [],
        fallback: { steps: [{ text: "Spent.", usage: { input: 100_000, output: 0 } }] },
      }),
    ],
    budgets: { workspaceDailyTokens: 100_000, outputReserveTokens: 0 },
    tasks: { tickMs: 50 },
  });
  const { child } = serveProcess({ config, env: clock.env });
  const url = await child.url();
  const conversationId = await conversation(url);
  expect((await turn(url, conversationId, "first")).at(-1)?.type).toBe("turn.completed");
  const refused = (await turn(url, conversationId, "second")).at(-1);
  expect(refused?.type).toBe("turn.failed");
  expect(refused?.data.code).toBe("budget_exceeded");
  expect(String(refused?.data.error)).toContain(
    'the workspaceDailyTokens budget of workspace "default" (100000 tokens on',
  );
  expect(String(refused?.data.error)).toContain("100000 used");

  // another workspace has its own budget
  await workspace(url, "other");
  expect((await turn(url, await conversation(url, "other"), "elsewhere")).at(-1)?.type).toBe(
    "turn.completed",
  );

  // a task of the spent workspace waits for the next day instead of failing; the spent attempt does
  // not count against its maxAttempts
  const task = await json<Task>(await post(url, "/tasks", { workspaceId: "default", spec: "nightly job" }));
  const deadline = Date.now() + 30_000;
  let waiting = task;
  while (
    !(waiting.attempts.length > 0 && waiting.status === "queued" && waiting.attempts[0]?.status === "failed")
  ) {
    if (Date.now() > deadline) throw new Error(`task still ${JSON.stringify(waiting)}`);
    await Bun.sleep(50);
    waiting = await json<Task>(await fetch(`${url}/tasks/${task.id}`));
  }
  expect(waiting).toMatchObject({ attempt: 1, maxAttempts: task.maxAttempts + 1 });
  expect(waiting.lastError).toContain("workspaceDailyTokens");
  const now = Date.now();
  expect(Date.parse(waiting.nextRunAt as string)).toBe(now - (now % day) + day);

  // the next day
  clock.shift(day);
  const next = await turn(url, conversationId, "third");
  expect(next.at(-1)?.type).toBe("turn.completed");
  const days = await usage(url, "groupBy=day&workspaceId=default");
  expect(days.groups.map((g) => g.totalTokens)).toEqual([100_000, 100_000]);
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});

test("20 turns started at once against a daily budget that fits 5 calls run exactly 5 model calls; the budget is never passed", async () => {
  // The bound: a call is let through only when today's charged tokens plus the estimates of the calls
  // in flight plus its own estimate fit the budget, checked and reserved in one transaction. With each
  // estimate at least the call's real usage (here equal: the scripted model reports the estimate), a
  // budget of 5 calls lets 5 calls through and no more, however the 20 turns interleave.
  const clock = noonClock();
  const dir = tempDir();
  const dataDir = tempDir();
  const script = { replies: [], fallback: { steps: [{ text: "ok" }] } };
  const settings = {
    providers: [scripted(script, { maxConcurrent: 2 })],
    budgets: { outputReserveTokens: 1 },
  };
  // first, one call to learn what a call costs (the same prompt each time)
  const probe = new DispatchProcess(
    ["serve", "--data-dir", dataDir, "--port", "0", "--config", writeConfig(dir, settings, "probe.json")],
    clock.env,
  );
  let url = await probe.url();
  await workspace(url, "race");
  expect((await turn(url, await conversation(url, "race"), "go")).at(-1)?.type).toBe("turn.completed");
  const perCall = (await usage(url, "workspaceId=race")).total.totalTokens;
  probe.proc.kill("SIGTERM");
  expect(await probe.exitWithin(10_000)).toBe(0);

  const limit = 6 * perCall;
  const budgeted = { ...settings, budgets: { ...settings.budgets, workspaceDailyTokens: limit } };
  const racer = new DispatchProcess(
    ["serve", "--data-dir", dataDir, "--port", "0", "--config", writeConfig(dir, budgeted, "race.json")],
    clock.env,
  );
  url = await racer.url();
  const conversations = await Promise.all(Array.from({ length: 20 }, () => conversation(url, "race")));
  const posted = await Promise.all(
    conversations.map(async (id) =>
      json<{ turnId: string }>(await post(url, `/conversations/${id}/messages`, { text: "go" })),
    ),
  );
  const finals = await Promise.all(
    conversations.map(async (id, i) => {
      await waitForTurnEnd(url, id, 60_000);
      return (await eventsOfTurn(url, id, posted[i]?.turnId as string)).at(-1);
    }),
  );
  const completed = finals.filter((e) => e?.type === "turn.completed");
  const refused = finals.filter((e) => e?.data.code === "budget_exceeded");
  expect(completed).toHaveLength(5);
  expect(refused).toHaveLength(15);
  const report = await usage(url, "workspaceId=race");
  expect(report.total.calls).toBe(6);
  expect(report.total.totalTokens).toBeLessThanOrEqual(limit);
  racer.proc.kill("SIGTERM");
  expect(await racer.exitWithin(10_000)).toBe(0);
});

test("the loop guard answers repeats of one tool call with a tool error, then fails the turn with loop_detected", async () => {
  const repeat = { tool: "list_dir", input: { path: "." } };
  const config = writeConfig(tempDir(), {
    providers: [scripted({ replies: [], fallback: { steps: Array.from({ length: 10 }, () => repeat) } })],
    defaults: { loopGuard: { repeats: 3 } },
  });
  const { child } = serveProcess({ config });
  const url = await child.url();
  const events = await turn(url, await conversation(url), "look around");
  const results = events.filter((e) => e.type === "tool.result").map((e) => String(e.data.output));
  expect(results).toHaveLength(6);
  expect(results.slice(0, 2).every((o) => !o.includes("Loop guard"))).toBe(true);
  for (const output of results.slice(2, 5)) expect(output).toContain("Loop guard");
  expect(events.at(-1)?.data).toMatchObject({ code: "loop_detected", steps: 6 });
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});

/** A scripted provider whose model has a small context window, answering a summarising call with `summary`. */
function compactingConfig(summary: string) {
  return {
    providers: [
      scripted(
        {
          replies: [{ when: `^${summariserInstruction}`, steps: [{ text: summary }] }],
          fallback: { steps: [{ text: "Noted." }] },
        },
        { models: [{ id: "demo", contextWindow: 8000 }] },
      ),
    ],
  };
}

const longMessage = (i: number) =>
  `message ${i}: ${"the quick brown fox jumps over the lazy dog ".repeat(45)}`;

test("a conversation of 200 long messages with a small contextWindow compacts and every turn completes", async () => {
  const config = writeConfig(
    tempDir(),
    compactingConfig("Summary: the user sent numbered notes about a fox."),
  );
  const { child } = serveProcess({ config });
  const url = await child.url();
  const conversationId = await conversation(url);
  // queued follow-ups run one turn after another, in order
  for (let i = 0; i < 200; i++) {
    const res = await post(url, `/conversations/${conversationId}/messages`, {
      text: longMessage(i),
      queue: true,
    });
    expect(res.status).toBe(202);
  }
  const events = await readEvents(
    url,
    conversationId,
    (seen) => seen.filter((e) => finalTypes.has(e.type)).length === 200,
  );
  const finals = events.filter((e) => finalTypes.has(e.type));
  expect(finals.map((e) => e.type)).toEqual(Array.from({ length: 200 }, () => "turn.completed"));
  const compacted = events.filter((e) => e.type === "context.compacted");
  expect(compacted.length).toBeGreaterThanOrEqual(5);
  for (const e of compacted) {
    const { beforeTokens, afterTokens } = e.data as { beforeTokens: number; afterTokens: number };
    expect(beforeTokens).toBeGreaterThan(0.8 * 8000);
    expect(afterTokens).toBeLessThanOrEqual(0.7 * beforeTokens);
  }
  expect(events.filter((e) => e.type === "context.compacting")).toHaveLength(compacted.length);
  // the stored messages all stay
  // at most 500 a page: 400 messages fit in one
  const messages = await json<{ messages: Array<{ role: string }> }>(
    await fetch(`${url}/conversations/${conversationId}/messages?limit=500`),
  );
  // every turn answered in order: the queued messages came after the answers before them
  expect(messages.messages.map((m) => m.role)).toEqual(
    Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? "user" : "assistant")),
  );
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});

test("a summariser that answers with more text than it was given fails the turn with context_overflow after exactly one compaction attempt", async () => {
  const config = writeConfig(tempDir(), compactingConfig("Z".repeat(60_000)));
  const { child } = serveProcess({ config });
  const url = await child.url();
  const conversationId = await conversation(url);
  let failed: ApiEvent[] | undefined;
  for (let i = 0; i < 40 && failed === undefined; i++) {
    const events = await turn(url, conversationId, longMessage(i));
    if (events.at(-1)?.type !== "turn.completed") failed = events;
  }
  expect(failed).toBeDefined();
  const events = failed ?? [];
  expect(events.at(-1)?.type).toBe("turn.failed");
  expect(events.at(-1)?.data.code).toBe("context_overflow");
  expect(String(events.at(-1)?.data.error)).toContain("less than compaction.minShrink (30%)");
  expect(events.filter((e) => e.type === "context.compacting")).toHaveLength(1);
  expect(events.filter((e) => e.type === "context.compacted")).toHaveLength(0);
  expect(events.filter((e) => e.type === "step.started")).toHaveLength(0);
  // the one summarising call is all the turn spent
  expect(usageOf(events).outputTokens).toBe(15_000);
  child.proc.kill("SIGTERM");
  expect(await child.exitWithin(10_000)).toBe(0);
});
