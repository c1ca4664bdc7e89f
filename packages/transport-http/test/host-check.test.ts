import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { type ApiHarness, startApi } from "./harness.ts";

/** Sends a raw HTTP/1.1 request (so the Host header is exactly ours) and returns status and body. */
function rawRequest(
  port: number,
  request: { method: string; path: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const body = request.body ?? "";
    const head = [
      `${request.method} ${request.path} HTTP/1.1`,
      ...Object.entries({
        ...request.headers,
        "Content-Length": String(Buffer.byteLength(body)),
        Connection: "close",
      }).map(([k, v]) => `${k}: ${v}`),
    ];
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      answer += chunk;
    });
    socket.on("error", reject);
    socket.on("end", () => {
      const status = Number(answer.slice(9, 12));
      resolve({ status, body: answer.slice(answer.indexOf("\r\n\r\n") + 4) });
    });
    socket.write(`${head.join("\r\n")}\r\n\r\n${body}`);
  });
}

const portOf = (api: ApiHarness) => Number(new URL(api.url).port);

describe("without a token", () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi({
      server: { allowedHosts: ["dispatch.lan", "box.lan:9999"], corsOrigins: ["http://ui.example.com:3000"] },
    });
  });
  afterAll(() => api.stop());

  test("a DNS-rebinding request (foreign Host, foreign Origin) is refused with 403 and a JSON error", async () => {
    const res = await rawRequest(portOf(api), {
      method: "POST",
      path: "/workspaces",
      headers: {
        Host: "evil.example.com",
        Origin: "http://evil.example.com",
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ id: "rebound", root: "/" }),
    });
    expect(res.status).toBe(403);
    const body = JSON.parse(res.body) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("forbidden");
    expect(body.error.message).toContain('Host header "evil.example.com"');
    const list = await (await api.fetch("/workspaces")).json();
    expect((list as { workspaces: Array<{ id: string }> }).workspaces.map((w) => w.id)).not.toContain(
      "rebound",
    );
  });

  test("a foreign Host without any Origin is refused too", async () => {
    const res = await rawRequest(portOf(api), {
      method: "GET",
      path: "/workspaces",
      headers: { Host: "evil.example.com:7878" },
    });
    expect(res.status).toBe(403);
  });

  test("loopback names with and without a port, and server.allowedHosts, are accepted", async () => {
    const port = portOf(api);
    for (const host of [
      "localhost",
      `localhost:${port}`,
      "127.0.0.1",
      `127.1.2.3:${port}`,
      "[::1]",
      `[::1]:${port}`,
      "dispatch.lan:80",
      "box.lan:9999",
    ]) {
      const res = await rawRequest(port, { method: "GET", path: "/workspaces", headers: { Host: host } });
      expect([host, res.status]).toEqual([host, 200]);
    }
    for (const host of ["box.lan:1234", "localhost.evil.com", "127.0.0.1.evil.com", ""]) {
      const res = await rawRequest(port, { method: "GET", path: "/workspaces", headers: { Host: host } });
      expect([host, res.status]).toEqual([host, 403]);
    }
  });

  test("a cross-origin browser request is refused unless its origin is in server.corsOrigins", async () => {
    const port = portOf(api);
    const host = `127.0.0.1:${port}`;
    const from = (origin: string) =>
      rawRequest(port, { method: "GET", path: "/workspaces", headers: { Host: host, Origin: origin } });
    const foreign = await from("http://evil.example.com");
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body).error.message).toContain("server.corsOrigins");
    expect((await from("null")).status).toBe(403);
    expect((await from("http://ui.example.com:3000")).status).toBe(200);
    expect((await from(`http://${host}`)).status).toBe(200);
  });
});

test("with a token, any Host is accepted (the token keeps others out), a foreign Origin still is not", async () => {
  const token = "s3cret-token-for-host-tests";
  const api = await startApi({ server: { token } });
  try {
    const auth = { Authorization: `Bearer ${token}` };
    const named = await rawRequest(portOf(api), {
      method: "GET",
      path: "/workspaces",
      headers: { Host: "dispatch.example.com", ...auth },
    });
    expect(named.status).toBe(200);
    const foreign = await rawRequest(portOf(api), {
      method: "GET",
      path: "/workspaces",
      headers: { Host: "dispatch.example.com", Origin: "http://evil.example.com", ...auth },
    });
    expect(foreign.status).toBe(403);
  } finally {
    await api.stop();
  }
});
