import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AnyExtension, defineExtension, StartupError } from "@dispatch/kernel";
import { createMemTelemetryExtension } from "@dispatch/mem-telemetry";
import { Hono } from "hono";
import { BrowserSessions } from "../src/browser-sessions.ts";
import { httpRoutesPoint } from "../src/routes-point.ts";
import { type ApiHarness, startApi } from "./harness.ts";

const token = "s3cret-token-for-tests-only";
let api: ApiHarness | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

/** Logs in with `body` and returns the answer and its `name=value` cookie pair (if any). */
async function login(url: string, body: unknown) {
  const res = await fetch(`${url}/auth/session`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const setCookie = res.headers.get("set-cookie");
  return { res, setCookie, pair: setCookie?.split(";")[0] };
}

/** An extension serving a page and a script publicly at `/ui`, and data that needs the token at `/ui-data`. */
function pages(options: { id?: string; home?: boolean; path?: string } = {}): AnyExtension {
  return defineExtension({
    manifest: { id: options.id ?? "pages", version: "1.0.0", extends: ["transport-http"] },
    register(reg) {
      reg.contribute(httpRoutesPoint, {
        path: options.path ?? "/ui",
        public: true,
        home: options.home ?? true,
        routes: new Hono().get("/", (c) => c.html("<p>page</p>")).get("/app.js", (c) => c.text("js")),
        openapi: [],
      });
      reg.contribute(httpRoutesPoint, {
        path: `${options.path ?? "/ui"}-data`,
        routes: new Hono().get("/", (c) => c.json({ secret: true })),
        openapi: [],
      });
    },
    activate() {},
  });
}

describe("browser sessions", () => {
  test("the cookie is refused without the token; with it, it is HttpOnly, SameSite=Strict and opens the API", async () => {
    api = await startApi({ server: { token } });
    const { url } = api;
    const before = (await (await fetch(`${url}/auth/session`)).json()) as Record<string, unknown>;
    expect(before).toEqual({ tokenRequired: true, authenticated: false, expiresAt: null });

    const wrong = await login(url, { token: "not-the-token-at-all" });
    expect(wrong.res.status).toBe(401);
    expect(wrong.setCookie).toBeNull();
    const missing = await login(url, {});
    expect(missing.res.status).toBe(400);
    expect(missing.setCookie).toBeNull();

    const { res, setCookie, pair } = await login(url, { token });
    expect(res.status).toBe(200);
    const port = new URL(url).port;
    expect(setCookie).toMatch(new RegExp(`^dispatch_session_${port}=[A-Za-z0-9_-]{43};`));
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    expect(setCookie).toContain("Path=/");
    expect(setCookie).toMatch(/Max-Age=86400\b/);
    expect(setCookie).not.toContain("Secure");
    // The token is nowhere in what the browser keeps.
    expect(setCookie).not.toContain(token);
    const state = (await res.json()) as { tokenRequired: boolean; authenticated: boolean; expiresAt: string };
    expect(state.authenticated).toBe(true);
    expect(Date.parse(state.expiresAt)).toBeGreaterThan(Date.now());

    const cookie = { Cookie: pair! };
    expect((await fetch(`${url}/workspaces`)).status).toBe(401);
    expect((await fetch(`${url}/workspaces`, { headers: cookie })).status).toBe(200);
    expect((await fetch(`${url}/workspaces`, { headers: { Cookie: `${pair}x` } })).status).toBe(401);
    const now = (await (await fetch(`${url}/auth/session`, { headers: cookie })).json()) as {
      authenticated: boolean;
    };
    expect(now.authenticated).toBe(true);
  });

  test("an SSE stream opened with the cookie works", async () => {
    api = await startApi({ server: { token } });
    const { pair } = await login(api.url, { token });
    const conv = await api.fetch("/workspaces/default/conversations", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    });
    const { id } = (await conv.json()) as { id: string };
    const controller = new AbortController();
    const res = await fetch(`${api.url}/conversations/${id}/events`, {
      headers: { Cookie: pair!, Accept: "text/event-stream" },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    await api.fetch(`/conversations/${id}/messages`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: "hello" }),
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    while (!text.includes("turn.completed")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    expect(text).toContain("id: 1\n");
    expect(text).toContain("turn.completed");
  });

  test("a cookie sent from another origin's page is refused: Origin (any) and Sec-Fetch-Site", async () => {
    api = await startApi({ server: { token } });
    const { pair } = await login(api.url, { token });
    const headers = (extra: Record<string, string>) => ({ headers: { Cookie: pair!, ...extra } });
    // A page of this server: its fetches carry Sec-Fetch-Site: same-origin and its own Origin.
    const own = await fetch(
      `${api.url}/workspaces`,
      headers({ "Sec-Fetch-Site": "same-origin", Origin: api.url }),
    );
    expect(own.status).toBe(200);
    // Another port on the same machine is the same site, so SameSite=Strict sends the cookie: refused.
    const sameSite = await fetch(`${api.url}/workspaces`, headers({ "Sec-Fetch-Site": "same-site" }));
    expect(sameSite.status).toBe(403);
    expect(((await sameSite.json()) as { error: { code: string } }).error.code).toBe("forbidden");
    expect((await fetch(`${api.url}/workspaces`, headers({ "Sec-Fetch-Site": "cross-site" }))).status).toBe(
      403,
    );
    const foreign = await fetch(`${api.url}/workspaces`, headers({ Origin: "http://127.0.0.1:1" }));
    expect(foreign.status).toBe(403);
    // Logging in from another origin is refused too.
    const crossLogin = await fetch(`${api.url}/auth/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: "http://evil.example" },
      body: JSON.stringify({ token }),
    });
    expect(crossLogin.status).toBe(403);
    expect(crossLogin.headers.get("set-cookie")).toBeNull();
  });

  test("DELETE /auth/session ends the session: its cookie is cleared and refused afterwards", async () => {
    api = await startApi({ server: { token } });
    const { pair } = await login(api.url, { token });
    const out = await fetch(`${api.url}/auth/session`, { method: "DELETE", headers: { Cookie: pair! } });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(/Max-Age=0/);
    expect((await fetch(`${api.url}/workspaces`, { headers: { Cookie: pair! } })).status).toBe(401);
  });

  test("logging in again replaces the browser's session instead of adding one", async () => {
    api = await startApi({ server: { token } });
    const first = await login(api.url, { token });
    const again = await fetch(`${api.url}/auth/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Cookie: first.pair! },
      body: JSON.stringify({ token }),
    });
    const second = again.headers.get("set-cookie")!.split(";")[0]!;
    expect(second).not.toBe(first.pair);
    expect((await fetch(`${api.url}/workspaces`, { headers: { Cookie: first.pair! } })).status).toBe(401);
    expect((await fetch(`${api.url}/workspaces`, { headers: { Cookie: second } })).status).toBe(200);
  });

  test("with no token configured there is nothing to log in to and no cookie", async () => {
    api = await startApi();
    const state = await (await fetch(`${api.url}/auth/session`)).json();
    expect(state).toEqual({ tokenRequired: false, authenticated: true, expiresAt: null });
    const { res, setCookie } = await login(api.url, { token: "anything-at-all-here" });
    expect(res.status).toBe(200);
    expect(setCookie).toBeNull();
  });
});

describe("BrowserSessions", () => {
  test("a session expires after its ttl and the oldest goes past maxSessions", () => {
    let now = 1000;
    const sessions = new BrowserSessions({ ttlMs: 100, secret: "s", maxSessions: 2, clock: () => now });
    const a = sessions.create();
    expect(sessions.expiresAt(a.id)).toBe(1100);
    now = 1100;
    expect(sessions.expiresAt(a.id)).toBeUndefined();
    const b = sessions.create();
    const c = sessions.create();
    const d = sessions.create();
    expect(sessions.size).toBe(2);
    expect(sessions.expiresAt(b.id)).toBeUndefined();
    expect(sessions.expiresAt(c.id)).toBe(1200);
    expect(sessions.expiresAt(d.id)).toBe(1200);
    sessions.delete(c.id);
    expect(sessions.expiresAt(c.id)).toBeUndefined();
  });
});

describe("BrowserSessions on disk", () => {
  test("sessions survive a restart of the server; a new token ends them; the file holds no id or token", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "dispatch-sessions-"));
    try {
      api = await startApi({ server: { token } }, [], undefined, dataDir);
      const { pair } = await login(api.url, { token });
      const id = pair!.split("=")[1]!;
      await api.stop();
      const file = readFileSync(join(dataDir, "extensions/transport-http/browser-sessions.json"), "utf8");
      expect(file).not.toContain(id);
      expect(file).not.toContain(token);

      api = await startApi({ server: { token } }, [], undefined, dataDir);
      const again = await fetch(`${api.url}/workspaces`, {
        headers: { Cookie: pair!.replace(/_\d+=/, `_${new URL(api.url).port}=`) },
      });
      expect(again.status).toBe(200);
      await api.stop();

      api = await startApi({ server: { token: `${token}-rotated` } }, [], undefined, dataDir);
      const rotated = await fetch(`${api.url}/workspaces`, {
        headers: { Cookie: pair!.replace(/_\d+=/, `_${new URL(api.url).port}=`) },
      });
      expect(rotated.status).toBe(401);
    } finally {
      await api?.stop();
      api = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("an unreadable file is an empty set", () => {
    const dir = mkdtempSync(join(tmpdir(), "dispatch-sessions-"));
    try {
      const file = join(dir, "s.json");
      writeFileSync(file, "{not json");
      const sessions = new BrowserSessions({ ttlMs: 1000, secret: "s", file });
      expect(sessions.size).toBe(0);
      const made = sessions.create();
      expect(new BrowserSessions({ ttlMs: 1000, secret: "s", file }).expiresAt(made.id)).toBe(made.expiresAt);
      expect(new BrowserSessions({ ttlMs: 1000, secret: "other", file }).expiresAt(made.id)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("public contributions and the home page", () => {
  test("a public contribution needs no token, its sibling does, and GET / redirects to the home", async () => {
    api = await startApi({ server: { token } }, [pages()]);
    const { url } = api;
    const home = await fetch(`${url}/`, { redirect: "manual" });
    expect(home.status).toBe(302);
    expect(home.headers.get("location")).toBe("/ui");
    expect((await fetch(`${url}/ui`)).status).toBe(200);
    expect(await (await fetch(`${url}/ui/app.js`)).text()).toBe("js");
    // `/ui-data` shares the prefix `/ui` but not the mount path: it needs the token.
    expect((await fetch(`${url}/ui-data`)).status).toBe(401);
    expect((await api.fetch("/ui-data")).status).toBe(200);
  });

  test("without a home, GET / is a 404 naming /openapi.json", async () => {
    api = await startApi({ server: { token } });
    const res = await fetch(`${api.url}/`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("/openapi.json");
  });

  test("two home pages stop start-up naming both", async () => {
    const error = await startApi({}, [pages(), pages({ id: "other", path: "/other" })]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StartupError);
    const message = String((error as Error).message);
    expect(message).toContain("GET / is claimed as the home page by both");
    expect(message).toContain('extension "pages" (routes at /ui)');
    expect(message).toContain('extension "other" (routes at /other)');
  });
});

describe("GET /telemetry/memory", () => {
  test("serves the samples kept, oldest first, with the limit and lines", async () => {
    let rss = 100;
    const sampler = () => ({
      at: Date.now() + rss * 10_000,
      rssBytes: rss++,
      heapUsedBytes: 10,
      heapTotalBytes: 20,
      externalBytes: 0,
      arrayBuffersBytes: 0,
    });
    api = await startApi({ telemetry: { memory: { limitBytes: 1000 } } }, [
      createMemTelemetryExtension({ sampler }),
    ]);
    const body = (await (await api.fetch("/telemetry/memory")).json()) as {
      limitBytes: number;
      level: string;
      warnRatio: number;
      samples: Array<{ at: string; rssBytes: number }>;
    };
    expect(body.limitBytes).toBe(1000);
    expect(body.level).toBe("normal");
    expect(body.warnRatio).toBe(0.7);
    expect(body.samples.length).toBeGreaterThanOrEqual(1);
    expect(body.samples[0]?.rssBytes).toBe(100);
  });

  test("404 without mem-telemetry", async () => {
    api = await startApi();
    const res = await api.fetch("/telemetry/memory");
    expect(res.status).toBe(404);
  });
});
