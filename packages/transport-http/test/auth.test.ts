import { describe, expect, test } from "bun:test";
import { startApi } from "./harness.ts";

const token = "s3cret-token-for-tests-only";

describe("bearer token", () => {
  test("every route but /health needs the token", async () => {
    const api = await startApi({ server: { token } });
    try {
      const open = await fetch(`${api.url}/health`);
      expect(open.status).toBe(200);
      for (const path of ["/workspaces", "/metrics", "/providers", "/openapi.json", "/nowhere"]) {
        const res = await fetch(`${api.url}${path}`);
        expect(res.status).toBe(401);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
      }
      const wrong = await fetch(`${api.url}/workspaces`, { headers: { Authorization: "Bearer nope" } });
      expect(wrong.status).toBe(401);
      const right = await api.fetch("/workspaces");
      expect(right.status).toBe(200);
    } finally {
      await api.stop();
    }
  });

  test("/health without the token answers only {status, version}; with it, the details", async () => {
    const api = await startApi({ server: { token } });
    try {
      const asked: Array<Record<string, string>> = [
        {},
        { Authorization: "Bearer wrong-token-of-some-length" },
      ];
      for (const headers of asked) {
        const res = await fetch(`${api.url}/health`, { headers });
        expect(res.status).toBe(200);
        const body = (await res.json()) as Record<string, unknown>;
        expect(body).toEqual({ status: "ok", version: expect.any(String) });
      }
      const full = (await (await api.fetch("/health")).json()) as Record<string, unknown>;
      expect(Object.keys(full).sort()).toEqual(["extensions", "faults", "status", "uptimeS", "version"]);
      expect(JSON.stringify(full)).toContain(api.url);
    } finally {
      await api.stop();
    }
  });

  test("/health shows the details to everyone when no token is configured", async () => {
    const api = await startApi();
    try {
      const body = (await (await fetch(`${api.url}/health`)).json()) as Record<string, unknown>;
      expect(body.extensions).toBeArray();
    } finally {
      await api.stop();
    }
  });

  test("a non-loopback bind without a token is refused at start-up", async () => {
    await expect(startApi({ server: { host: "0.0.0.0" } })).rejects.toThrow(/without a token/);
  });
});
