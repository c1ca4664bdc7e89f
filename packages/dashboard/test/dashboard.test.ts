import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { conversationStoreExtension } from "@dispatch/conversation-store";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { providersExtension } from "@dispatch/providers";
import { sessionOrchestratorExtension } from "@dispatch/session-orchestrator";
import { httpServerRef, transportHttpExtension } from "@dispatch/transport-http";
import { workspaceToolsExtension } from "@dispatch/workspace-tools";
import {
  buildDashboard,
  type DashboardBundle,
  dashboardExtension,
  readDashboard,
  writeDashboard,
} from "../src/index.ts";

let bundle: DashboardBundle;
beforeAll(async () => {
  bundle = await buildDashboard();
});

describe("the bundle", () => {
  test("one page whose every script and style is a hashed asset under /dashboard/assets/, nothing from elsewhere", () => {
    const page = new TextDecoder().decode(bundle.files.find((f) => f.name === "index.html")!.bytes);
    const assets = bundle.files.filter((f) => f.name !== "index.html");
    expect(assets.map((f) => f.name.split(".").at(-1)).sort()).toEqual(["css", "js"]);
    for (const asset of assets) {
      expect(asset.name).toMatch(/^[\w-]+-[a-z0-9]{8}\.(js|css)$/);
      expect(page).toContain(`/dashboard/assets/${asset.name}`);
    }
    // No CDN, no network: the page and its code name no other host.
    const everything = bundle.files.map((f) => new TextDecoder().decode(f.bytes)).join("\n");
    expect(everything).not.toMatch(/https?:\/\/(?!www\.w3\.org\/)/);
    // Types only from the wire schemas: zod does not reach the bundle.
    expect(everything).not.toContain("ZodError");
  });

  test("a bundle on disk counts only when built from the current sources", () => {
    const dir = mkdtempSync(join(tmpdir(), "dispatch-dashboard-"));
    try {
      expect(readDashboard(dir, bundle.sourceHash)).toBeUndefined();
      writeDashboard(bundle, dir);
      const read = readDashboard(dir, bundle.sourceHash);
      expect(read?.files.map((f) => [f.name, f.bytes.byteLength])).toEqual(
        bundle.files.map((f) => [f.name, f.bytes.byteLength]),
      );
      expect(readDashboard(dir, "another-source")).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("served by the host", () => {
  const token = "dashboard-unit-token-0123456789";
  let host: TestHost;
  let url: string;
  beforeAll(async () => {
    host = await createTestHost({
      extensions: [
        conversationStoreExtension,
        providerConcurrencyExtension,
        providersExtension,
        sessionOrchestratorExtension,
        workspaceToolsExtension,
        transportHttpExtension,
        dashboardExtension,
      ],
      config: { server: { port: 0, token } },
    });
    url = `http://127.0.0.1:${host.get(httpServerRef).address()!.port}`;
  });
  afterAll(async () => {
    await host.stop();
  });

  test("GET / redirects to the page, which needs no token and allows nothing from elsewhere", async () => {
    const home = await fetch(`${url}/`, { redirect: "manual" });
    expect(home.status).toBe(302);
    expect(home.headers.get("location")).toBe("/dashboard");
    const page = await fetch(`${url}/dashboard`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toStartWith("text/html");
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    const etag = page.headers.get("etag")!;
    expect((await fetch(`${url}/dashboard`, { headers: { "If-None-Match": etag } })).status).toBe(304);
    // The data it shows is another matter.
    expect((await fetch(`${url}/workspaces`)).status).toBe(401);
  });

  test("assets are cached for good under their hashed names; an unknown one is a 404", async () => {
    const asset = bundle.files.find((f) => f.name.endsWith(".js"))!;
    const res = await fetch(`${url}/dashboard/assets/${asset.name}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/javascript");
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect((await res.arrayBuffer()).byteLength).toBe(asset.bytes.byteLength);
    const missing = await fetch(`${url}/dashboard/assets/old-12345678.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  test("the extension reports what it serves in /health", async () => {
    const health = (await (
      await fetch(`${url}/health`, { headers: { Authorization: `Bearer ${token}` } })
    ).json()) as {
      extensions: Array<{ id: string; health?: { build: string; files: number } }>;
    };
    const dashboard = health.extensions.find((e) => e.id === "dashboard");
    expect(dashboard?.health?.build).toBe(bundle.sourceHash);
    expect(dashboard?.health?.files).toBe(3);
  });
});
