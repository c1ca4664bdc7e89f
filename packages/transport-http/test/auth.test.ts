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

  test("a non-loopback bind without a token is refused at start-up", async () => {
    await expect(startApi({ server: { host: "0.0.0.0" } })).rejects.toThrow(/without a token/);
  });
});
