/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against `dispatch
 * serve` with a token: log in, workspaces and stars, a live transcript that resumes across a host
 * restart without duplicates, the provider queue reordered by a star, cancel, tasks, the activity
 * feed, the host view, a phone-sized screen, and a page of another origin that cannot read the API.
 * Screenshots of every view go to test-results/dashboard/ (not committed). Run alone with
 * `bun test --timeout 120000 packages/host-bin/test/e2e-dashboard.test.ts`.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fakeAgentPath, killTmuxServer } from "@dispatch/cli-agents/testing";
import { sseMessages } from "@dispatch/transport-http/testing";
import type { BrowserContext, Page } from "playwright-core";
import { launchChromium } from "./browser.ts";
import { cleanup, DispatchProcess, tempDir, writeConfig } from "./dispatch-process.ts";

setDefaultTimeout(60_000);

/** What the functions run in the page read of it (the root tsconfig has no DOM library). */
interface PageElement {
  readonly textContent: string | null;
  readonly dataset: Record<string, string | undefined>;
  readonly scrollWidth: number;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): PageElement[];
}
declare const document: {
  readonly cookie: string;
  readonly activeElement: PageElement | null;
  readonly documentElement: PageElement;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): PageElement[];
};
declare const window: { readonly innerWidth: number };
declare const localStorage: { readonly length: number };
declare const sessionStorage: { readonly length: number };

const token = "dashboard-e2e-token-0123456789";
const shots = resolve(import.meta.dir, "../../../test-results/dashboard");
const agentState = join(tempDir(), "crashes");
const config = {
  // A stand-in CLI agent in tmux (the cli-agents tests' own): answers each line, crashes once on CRASH.
  cliAgents: {
    captureIntervalMs: 100,
    healthIntervalMs: 100,
    cancelGraceMs: 500,
    agents: [
      {
        id: "fake",
        command: ["bash", fakeAgentPath],
        provider: "scripted",
        crashPatterns: ["FATAL"],
        idleMs: 600,
        respawn: { maxAttempts: 2, backoffMs: [100] },
        cols: 80,
        rows: 24,
        env: { FAKE_AGENT_CRASH_LIMIT: "1", FAKE_AGENT_STATE: agentState },
      },
    ],
  },
  providers: [
    {
      id: "scripted",
      kind: "scripted",
      maxConcurrent: 1,
      script: {
        replies: [
          // Long enough to look at while it runs (and to be cancelled): 60 pieces 200 ms apart.
          {
            when: "^slow",
            steps: [{ text: "A slow answer, piece by piece. ".repeat(6), chunks: 60, delayMs: 200 }],
          },
        ],
        fallback: {
          steps: [
            { text: "Hello from the scripted provider, streamed in pieces.", chunks: 12, delayMs: 120 },
          ],
        },
      },
    },
  ],
};

interface Host {
  child: DispatchProcess;
  url: string;
}

let dataDir: string;
let configPath: string;
let port: number;
let host: Host;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

/** A port free right now (the host restarts on it, so the page's streams can reconnect). */
function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const { port } = probe;
  probe.stop(true);
  return port ?? 0;
}

async function startHost(): Promise<Host> {
  const child = new DispatchProcess(
    ["serve", "--data-dir", dataDir, "--port", String(port), "--config", configPath],
    // Debug logs carry every request's status: how the cross-origin test sees what the host answered.
    { DISPATCH_TOKEN: token, DISPATCH_LOG_LEVEL: "debug" },
  );
  return { child, url: await child.url() };
}

async function stopHost(): Promise<void> {
  host.child.proc.kill("SIGTERM");
  expect(await host.child.exitWithin(15_000)).toBe(0);
}

/** The API with the bearer token, for setting up what the browser then shows. */
async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${host.url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

async function startTurn(workspaceId: string, text: string): Promise<string> {
  const { id } = await call<{ id: string }>("POST", `/workspaces/${workspaceId}/conversations`, {});
  await call("POST", `/conversations/${id}/messages`, { text });
  return id;
}

async function show(route: string): Promise<void> {
  await page.goto(`${host.url}/dashboard#/${route}`);
  await page.locator("#view-title").waitFor();
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

async function waitForOrder(selector: string, expected: string[]): Promise<void> {
  await page.waitForFunction(
    ([sel, want]) =>
      JSON.stringify(
        [...document.querySelectorAll(`${sel} [data-workspace]`)].map((r) =>
          r.getAttribute("data-workspace"),
        ),
      ) === JSON.stringify(want),
    [selector, expected] as const,
    { timeout: 10_000 },
  );
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  dataDir = tempDir();
  configPath = writeConfig(tempDir(), config);
  port = freePort();
  host = await startHost();
  context = await launchChromium();
  page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(error.message));
});

afterAll(async () => {
  await context?.close();
  host?.child.proc.kill("SIGTERM");
  await host?.child.exitWithin(15_000).catch(() => {});
  // Agent sessions outlive the host by design; the test ends them.
  if (dataDir !== undefined) await killTmuxServer(join(dataDir, "tmux", "dispatch.sock"));
  cleanup();
});

describe("the dashboard in Chromium", () => {
  test("GET / asks for the token once; the session cookie is HttpOnly and SameSite=Strict, and the token is kept nowhere", async () => {
    await page.goto(`${host.url}/`);
    expect(new URL(page.url()).pathname).toBe("/dashboard");
    await page.getByLabel("Access token").waitFor();
    // Before logging in, the page's own request for data is refused.
    expect(await page.evaluate(async () => (await fetch("/workspaces")).status)).toBe(401);
    await shot("login");

    await page.getByLabel("Access token").fill("not-the-token-at-all");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("alert").filter({ hasText: "That is not the token." }).waitFor();

    await page.getByLabel("Access token").fill(token);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Workspaces" }).waitFor();
    const cookies = await context.cookies(host.url);
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({
      name: `dispatch_session_${port}`,
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
    });
    expect(cookies[0]?.value).not.toContain(token);
    const stored = await page.evaluate(() => ({
      cookie: document.cookie,
      local: localStorage.length,
      session: sessionStorage.length,
      url: location.href,
    }));
    expect(stored).toEqual({ cookie: "", local: 0, session: 0, url: `${host.url}/dashboard` });
    // The activity stream (SSE) opened with the cookie: the header says live.
    await page.locator("header .stream", { hasText: "live" }).waitFor();

    // A reload does not ask again.
    await page.reload();
    await page.getByRole("heading", { name: "Workspaces" }).waitFor();
  });

  test("create a workspace; star it from the keyboard and it moves first, keeping focus", async () => {
    await show("workspaces");
    await page.getByLabel("Id").fill("zeta");
    await page.getByLabel("Name (optional)").fill("Zeta");
    await page.getByRole("button", { name: "Create workspace" }).click();
    await waitForOrder(".rows", ["default", "zeta"]);

    await page.getByRole("button", { name: "Star Zeta" }).focus();
    await page.keyboard.press("Space");
    await waitForOrder(".rows", ["zeta", "default"]);
    expect(await page.getByRole("button", { name: "Star Zeta" }).getAttribute("aria-pressed")).toBe("true");
    await page.waitForFunction(() => document.activeElement?.dataset.star === "zeta");
    await shot("workspaces");
  });

  test("focus order: skip link, brand, navigation, log out, then the view; the skip link lands on the heading", async () => {
    const label = () =>
      page.evaluate(
        () => document.activeElement?.getAttribute("aria-label") ?? document.activeElement?.textContent,
      );
    // the nav learns of CLI agents and the list of its workspaces from the API: wait for both, or
    // Tab runs ahead of them on a loaded machine
    const ready = async () => {
      await page.reload();
      await page.locator("#view-title").waitFor();
      await page.getByRole("link", { name: "CLI agents" }).waitFor();
      await page.getByRole("button", { name: "Star Zeta" }).waitFor();
    };
    await ready();
    const stops: Array<string | null | undefined> = [];
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press("Tab");
      stops.push(await label());
    }
    // "CLI agents" is there because the host answers GET /agents (the cli-agents extension).
    expect(stops).toEqual([
      "Skip to content",
      "Dispatch",
      "Workspaces",
      "Providers",
      "Tasks",
      "Activity",
      "Host",
      "CLI agents",
      "Log out",
      "Star Zeta",
    ]);

    await ready();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("id"))).toBe("view-title");
    await page.keyboard.press("Tab");
    expect(await label()).toBe("Star Zeta");
  });

  test("send a message from the composer and watch the transcript stream to completion", async () => {
    await page.getByRole("link", { name: "Zeta" }).click();
    await page.getByRole("heading", { name: "Zeta" }).waitFor();
    await shot("workspace");
    await page.getByRole("button", { name: "New conversation" }).click();
    await page.getByLabel("Message").waitFor();
    await page.getByLabel("Message").fill("Hello there");
    await page.getByLabel("Message").press("Control+Enter");

    const agentText = page.locator(".turn .msg.agent .text").first();
    // Part of the answer is shown while the turn still runs.
    await page.waitForFunction(() => {
      const text = document.querySelector(".turn .msg.agent .text")?.textContent ?? "";
      const state = document.querySelector(".turn")?.getAttribute("data-state");
      return (
        state === "running" &&
        text.length > 0 &&
        text.length < "Hello from the scripted provider, streamed in pieces.".length
      );
    });
    await page.locator('.turn[data-state="completed"]').waitFor();
    expect(await agentText.textContent()).toBe("Hello from the scripted provider, streamed in pieces.");
    expect(await page.locator(".turn .msg.user .text").first().textContent()).toBe("Hello there");
    await shot("conversation");
  });

  test("the transcript resumes after the host restarts, without a duplicate or a gap", async () => {
    await page.getByLabel("Message").fill("slow and steady");
    await page.getByRole("button", { name: "Send" }).click();
    await page.waitForFunction(
      () =>
        (document.querySelectorAll(".turn")[1]?.querySelector(".msg.agent .text")?.textContent ?? "").length >
        0,
    );
    const conversationId = decodeURIComponent(new URL(page.url()).hash.split("/")[2] ?? "");

    // The host goes away mid-turn (interrupting it) and comes back on the same port and data dir.
    await stopHost();
    host = await startHost();
    await page.locator('.turn[data-state="interrupted"]').waitFor({ timeout: 20_000 });
    await page.locator("header .stream", { hasText: "live" }).waitFor({ timeout: 20_000 });

    // What the page shows is exactly the event log: one element per turn, each turn's text once.
    // Idle since the interruption: its event is the last there is.
    const events = await readEvents(conversationId, (all) => all.at(-1)?.type === "turn.interrupted");
    const turns = [...new Set(events.flatMap((e) => (e.turnId === null ? [] : [e.turnId])))];
    const shown = await page.$$eval(".turn", (els) =>
      els.map((el) => ({
        turnId: el.getAttribute("data-turn"),
        text: [...el.querySelectorAll(".msg.agent .text")].map((p) => p.textContent).join(""),
      })),
    );
    expect(shown.map((t) => t.turnId)).toEqual(turns);
    for (const turn of shown) {
      const logged = events
        .filter((e) => e.turnId === turn.turnId && e.type === "text.delta")
        .map((e) => String(e.data.text))
        .join("");
      expect(turn.text).toBe(logged);
    }
    expect(Number(await page.locator("[data-last-seq]").getAttribute("data-last-seq"))).toBe(
      events.at(-1)?.seq ?? -1,
    );
  });

  test("with one slot and queued turns, starring a waiter's workspace moves it up in the providers view", async () => {
    for (const id of ["q-run", "q-a", "q-b", "q-c"]) await call("POST", "/workspaces", { id });
    const running = await startTurn("q-run", "slow hold");
    await waitForConversation(running, "running");
    const waiting: string[] = [];
    for (const id of ["q-a", "q-b", "q-c"]) waiting.push(await startTurn(id, "slow wait"));

    await show("providers");
    await waitForOrder(".queue", ["q-a", "q-b", "q-c"]);
    expect(await page.locator("[data-slots]").textContent()).toBe("1 of 1");
    await page.locator('.queue [data-workspace="q-c"] button.star').focus();
    await page.keyboard.press("Enter");
    await waitForOrder(".queue", ["q-c", "q-a", "q-b"]);
    await shot("providers");

    // Cancel a running turn from its conversation: the slot goes to the starred waiter.
    await page.goto(`${host.url}/dashboard#/conversations/${running}`);
    await page.locator('.turn[data-state="running"]').waitFor();
    await page.getByRole("button", { name: "Cancel turn" }).click();
    await page.locator('.turn[data-state="cancelled"]').waitFor();
    await page.getByRole("status").filter({ hasText: "cancelled" }).waitFor();
    await shot("conversation-cancelled");
    await waitForConversation(waiting[2]!, "running");
    for (const id of waiting) await call("POST", `/conversations/${id}/cancel`);
  });

  test("the tasks board: a task queued from the form, cancelled and retried", async () => {
    await show("tasks");
    await page.getByLabel("Workspace").selectOption("zeta");
    await page.getByLabel("Title (optional)").fill("Board task");
    await page.getByLabel("What to do").fill("slow work for the board");
    await page.getByRole("button", { name: "Queue task" }).click();
    const card = page.locator(".task", { hasText: "Board task" });
    await page
      .locator('[data-status="running"] .task', { hasText: "Board task" })
      .waitFor({ timeout: 20_000 });
    await card.getByRole("button", { name: "Cancel Board task" }).click();
    await page.locator('[data-status="cancelled"] .task', { hasText: "Board task" }).waitFor();
    await card.getByRole("button", { name: "Retry Board task" }).click();
    await page.waitForFunction(
      () =>
        document.querySelector('[data-status="cancelled"] .task') === null &&
        document.querySelector(".task") !== null,
    );
    await shot("tasks");
    await page
      .locator(".task", { hasText: "Board task" })
      .getByRole("button", { name: "Cancel Board task" })
      .click();
    await page.locator('[data-status="cancelled"] .task', { hasText: "Board task" }).waitFor();
  });

  test("a CLI agent: its live screen, keys from the input box, its crash and respawn, the agents view", async () => {
    const { id } = await call<{ id: string }>("POST", "/workspaces/zeta/conversations", {
      runner: "cli:fake",
    });
    await page.goto(`${host.url}/dashboard#/conversations/${id}`);
    await page.getByRole("heading", { name: "Agent screen" }).waitFor();
    await page.getByLabel("Message").fill("hello");
    await page.getByLabel("Message").press("Control+Enter");
    await page.locator('.turn[data-state="completed"]').waitFor({ timeout: 30_000 });
    expect(await page.locator(".turn .msg.agent .text").first().textContent()).toContain("answer: hello");
    expect(await page.locator("[data-screen]").textContent()).toContain("Fake Agent 1.0");

    // While the agent thinks, Ctrl-C from the input box reaches it (it says so on its screen).
    await page.getByLabel("Message").fill("SLOW one");
    await page.getByRole("button", { name: "Send" }).click();
    await page.locator("[data-screen]", { hasText: "thinking" }).waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: "Ctrl-C" }).click();
    await page.locator("[data-screen]", { hasText: "^C (interrupted)" }).waitFor({ timeout: 15_000 });
    await page.locator('.turn[data-state="completed"]').nth(1).waitFor({ timeout: 30_000 });

    await page.getByLabel("Message").fill("CRASH once");
    await page.getByRole("button", { name: "Send" }).click();
    await page.locator(".turn .note", { hasText: "CLI agent crashed" }).waitFor({ timeout: 30_000 });
    await page.locator(".turn .note", { hasText: "CLI agent respawned" }).waitFor({ timeout: 30_000 });
    await page.locator('.turn[data-state="completed"]').nth(2).waitFor({ timeout: 30_000 });
    await shot("conversation-cli-agent");

    await show("agents");
    await page.locator('[data-agent="fake"]').waitFor();
    await shot("agents");
  });

  test("the activity feed shows each of these, newest first, live", async () => {
    await show("activity");
    for (const summary of [
      'workspace "Zeta" created',
      'workspace "Zeta" starred',
      "turn started",
      "turn completed",
      'workspace "q-c" starred',
      "turn cancelled",
      'task "Board task" created',
      'task "Board task" cancelled',
      "CLI agent fake crashed",
      "CLI agent fake respawned",
    ]) {
      await page.locator(".feed li", { hasText: summary }).first().waitFor({ timeout: 10_000 });
    }
    // Live: a star made elsewhere shows up without a reload.
    await call("PUT", "/workspaces/q-b/star");
    await page.locator(".feed li").first().filter({ hasText: 'workspace "q-b" starred' }).waitFor();
    await shot("activity");
  });

  test("the host view: memory over the last hour, faults, extensions", async () => {
    await show("host");
    await page.locator('[data-extension="dashboard"]').waitFor();
    await page.locator('[data-extension="activity"]').getByText("active").waitFor();
    await page.locator("figure.chart svg[role=img]").waitFor();
    expect(await page.locator("figure.chart svg").getAttribute("aria-label")).toMatch(
      /^Memory over the last hour: RSS now/,
    );
    await shot("host");
  });

  test("every view fits a 390-px-wide phone screen", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const route of ["workspaces", "workspaces/zeta", "providers", "tasks", "activity", "host"]) {
      await show(route);
      await page.waitForFunction(() => document.documentElement.dataset.rendered === "true");
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect({ route, overflow }).toEqual({ route, overflow: 0 });
      await shot(`phone-${route.replace("/", "-")}`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test("a page of another origin, in the same logged-in browser, cannot read the API", async () => {
    const evil = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () =>
        new Response("<!doctype html><title>elsewhere</title>", { headers: { "Content-Type": "text/html" } }),
    });
    try {
      const other = await context.newPage();
      await other.goto(`http://127.0.0.1:${evil.port}/`);
      const result = await other.evaluate(async (target) => {
        const out: Record<string, string> = {};
        try {
          const res = await fetch(`${target}/workspaces/evil-cors`, { credentials: "include" });
          out.cors = `read ${res.status}`;
        } catch {
          out.cors = "blocked";
        }
        const opaque = await fetch(`${target}/workspaces/evil-no-cors`, {
          mode: "no-cors",
          credentials: "include",
        });
        out.noCors = `${opaque.type} ${opaque.status}`;
        out.stream = await new Promise<string>((done) => {
          const es = new EventSource(`${target}/activity/stream`, { withCredentials: true });
          es.onmessage = () => {
            es.close();
            done("read");
          };
          es.onerror = () => {
            es.close();
            done("blocked");
          };
        });
        return out;
      }, host.url);
      expect(result).toEqual({ cors: "blocked", noCors: "opaque 0", stream: "blocked" });
      // And the host refused each of them, whatever the browser would have shown.
      const statusOf = (path: string) =>
        host.child.records().find((r) => r.msg === "request" && r.path === path)?.status;
      expect(statusOf("/workspaces/evil-cors")).toBe(403);
      expect(statusOf("/workspaces/evil-no-cors")).toBe(403);
      await other.close();
    } finally {
      evil.stop(true);
    }
    expect(pageErrors).toEqual([]);
  });
});

interface LoggedEvent {
  seq: number;
  type: string;
  turnId: string | null;
  data: Record<string, unknown>;
}

/** A conversation's event log from the start through the API, read until `done` says so. */
async function readEvents(
  conversationId: string,
  done: (events: LoggedEvent[]) => boolean,
): Promise<LoggedEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  const res = await fetch(`${host.url}/conversations/${conversationId}/events?after=0`, {
    headers: { Authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  const events: LoggedEvent[] = [];
  try {
    for await (const { data } of sseMessages(res.body as ReadableStream<Uint8Array>)) {
      events.push(JSON.parse(data) as LoggedEvent);
      if (done(events)) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

async function waitForConversation(id: string, status: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const conv = await call<{ status: string }>("GET", `/conversations/${id}`);
    if (conv.status === status) return;
    if (Date.now() > deadline) throw new Error(`conversation ${id} is ${conv.status}, not ${status}`);
    await Bun.sleep(50);
  }
}
