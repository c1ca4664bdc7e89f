import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { ErrorBody, Workspace } from "@dispatch/wire";
import { type ApiHarness, readSse, startApi } from "./harness.ts";

let api: ApiHarness;
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.stop();
});

async function expectError(res: { status: number; json(): Promise<unknown> }, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = ErrorBody.parse(await res.json());
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body;
}

describe("workspaces", () => {
  test("create, get, list starred first then by name, patch, delete", async () => {
    const created = await api.client.workspaces.$post({ json: { id: "zeta", name: "Zeta" } });
    expect(created.status).toBe(201);
    const ws = Workspace.parse(await created.json());
    expect(ws.root.endsWith("/workspaces/zeta")).toBe(true);
    expect(ws.starred).toBe(false);
    await api.client.workspaces.$post({ json: { id: "alpha", name: "Alpha" } });
    await api.client.workspaces[":id"].star.$put({ param: { id: "zeta" } });

    const list = await (await api.client.workspaces.$get()).json();
    expect(list.workspaces.map((w) => w.id)).toEqual(["zeta", "alpha", "default"]);

    const patched = await api.client.workspaces[":id"].$patch({
      param: { id: "alpha" },
      json: { name: "Aardvark" },
    });
    expect((await patched.json()).name).toBe("Aardvark");

    const del = await api.client.workspaces[":id"].$delete({ param: { id: "alpha" } });
    expect(del.status).toBe(204);
    await expectError(await api.fetch("/workspaces/alpha"), 404, "not_found");
  });

  test("network and permissions: set on create, changed by PATCH, bad rules are 400", async () => {
    const created = await api.client.workspaces.$post({
      json: { id: "rules", network: true, permissions: { bash: "ask" } },
    });
    expect(Workspace.parse(await created.json())).toMatchObject({
      network: true,
      permissions: { bash: "ask" },
    });
    const patched = await api.client.workspaces[":id"].$patch({
      param: { id: "rules" },
      json: { network: null, permissions: { "bash:git push*": "deny", "write_file:*.env": "ask" } },
    });
    expect(await patched.json()).toMatchObject({
      network: null,
      permissions: { "bash:git push*": "deny", "write_file:*.env": "ask" },
    });
    for (const permissions of [{ "not a tool": "allow" }, { bash: "sometimes" }]) {
      const bad = await api.fetch("/workspaces/rules", {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ permissions }),
      });
      await expectError(bad, 400, "invalid_request");
    }
    expect((await (await api.fetch("/workspaces/rules")).json()).permissions).toEqual({
      "bash:git push*": "deny",
      "write_file:*.env": "ask",
    });
  });

  test("a duplicate id is 409, deleting default is 409, bad slug is 400", async () => {
    await api.client.workspaces.$post({ json: { id: "dup" } });
    await expectError(await api.client.workspaces.$post({ json: { id: "dup" } }), 409, "conflict");
    await expectError(await api.fetch("/workspaces/default", { method: "DELETE" }), 409, "conflict");
    const bad = await api.fetch("/workspaces", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "Not A Slug" }),
    });
    const body = await expectError(bad, 400, "invalid_request");
    expect(JSON.stringify(body.error.details)).toContain("id");
  });

  test("star and unstar are idempotent and persist", async () => {
    await api.client.workspaces.$post({ json: { id: "twinkle" } });
    for (let i = 0; i < 2; i++) {
      const res = await api.client.workspaces[":id"].star.$put({ param: { id: "twinkle" } });
      expect((await res.json()).starred).toBe(true);
    }
    expect(
      (await (await api.client.workspaces[":id"].$get({ param: { id: "twinkle" } })).json()).starred,
    ).toBe(true);
    for (let i = 0; i < 2; i++) {
      const res = await api.client.workspaces[":id"].star.$delete({ param: { id: "twinkle" } });
      expect((await res.json()).starred).toBe(false);
    }
    await expectError(await api.fetch("/workspaces/nope/star", { method: "PUT" }), 404, "not_found");
  });
});

describe("errors at the edge", () => {
  test("unknown route 404, wrong method 405 with Allow, non-JSON 415, malformed JSON 400, oversized 413", async () => {
    await expectError(await api.fetch("/nowhere"), 404, "not_found");
    const wrong = await api.fetch("/workspaces", { method: "PUT" });
    await expectError(wrong, 405, "method_not_allowed");
    expect(wrong.headers.get("allow")).toContain("GET");
    await expectError(
      await api.fetch("/workspaces", {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "id=x",
      }),
      415,
      "unsupported_media_type",
    );
    await expectError(
      await api.fetch("/workspaces", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{nope",
      }),
      400,
      "invalid_request",
    );
    const huge = JSON.stringify({ text: "x".repeat(1024 * 1024 + 10) });
    await expectError(
      await api.fetch("/conversations/c_x/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: huge,
      }),
      413,
      "payload_too_large",
    );
  });

  test("a body far over the limit, declared or chunked, still gets the JSON 413 and the connection closes", async () => {
    // Declares 100 MB and sends 1 KB: the answer must not wait for the rest.
    const { port } = new URL(api.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1");
      let text = "";
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no close within 5 s; got ${text.slice(0, 200)}`));
      }, 5_000);
      socket.on("data", (chunk) => {
        text += chunk;
      });
      socket.on("error", reject);
      socket.on("close", () => {
        clearTimeout(timer);
        resolve(text);
      });
      socket.write(
        "POST /workspaces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n",
      );
      socket.write("x".repeat(1024));
    });
    expect(answer).toStartWith("HTTP/1.1 413");
    expect(answer.toLowerCase()).toContain("x-request-id: ");
    expect(answer).toContain('"code":"payload_too_large"');

    // No Content-Length at all: 3 MiB streamed in 64 KiB chunks is cut off at the limit.
    let sent = 0;
    const chunk = new Uint8Array(64 * 1024).fill(120);
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 3 * 1024 * 1024) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    await expectError(
      await api.fetch("/workspaces", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: stream,
      }),
      413,
      "payload_too_large",
    );
    expect((await api.fetch("/health")).status).toBe(200);
  });

  test("an empty message is 400 and a missing conversation 404", async () => {
    const conv = await (
      await api.client.workspaces[":id"].conversations.$post({ param: { id: "default" }, json: {} })
    ).json();
    await expectError(
      await api.fetch(`/conversations/${conv.id}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: "" }),
      }),
      400,
      "invalid_request",
    );
    await expectError(await api.fetch("/conversations/c_missing"), 404, "not_found");
    // Posting is answered by the orchestrator's own lookup (the route reads nothing first).
    for (const body of [{ text: "hi" }, { text: "hi", queue: true }]) {
      const posted = await api.fetch("/conversations/c_missing/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(posted.status).toBe(404);
      expect(await posted.json()).toEqual({
        error: { code: "not_found", message: 'conversation "c_missing" does not exist' },
      });
    }
    await expectError(
      await api.client.workspaces[":id"].conversations.$post({
        param: { id: "default" },
        json: { provider: "nope" },
      }),
      400,
      "invalid_request",
    );
    const unknownRunner = await api.client.workspaces[":id"].conversations.$post({
      param: { id: "default" },
      json: { runner: "cli:claude" },
    });
    expect(unknownRunner.status as number).toBe(400);
    expect(await unknownRunner.json()).toMatchObject({
      error: { code: "invalid_request", message: 'runner "cli" is not installed (installed: model)' },
    });
    const created = await api.client.workspaces[":id"].conversations.$post({
      param: { id: "default" },
      json: { runner: "model" },
    });
    expect(await created.json()).toMatchObject({ runner: "model" });
  });

  test("a POST with no body is read as {}: a route whose fields are all optional takes it", async () => {
    const url = `${api.url}/workspaces/default/conversations`;
    const bare = await fetch(url, { method: "POST" });
    expect(bare.status).toBe(201);
    const typed = await fetch(url, { method: "POST", headers: { "content-type": "application/json" } });
    expect(typed.status).toBe(201);
    // Not spawnSync: the server runs on this thread and must answer meanwhile.
    const curl = Bun.spawn(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", url]);
    expect(await new Response(curl.stdout).text()).toBe("201");
    const conv = (await bare.json()) as { id: string; title: string | null };
    expect(conv.title).toBeNull();
    // A route with a required field says which one is missing instead of asking for JSON.
    const body = await expectError(
      await fetch(`${api.url}/conversations/${conv.id}/messages`, { method: "POST" }),
      400,
      "invalid_request",
    );
    expect(body.error.message).toContain("text");
    // A body that is there but not JSON is still 415.
    await expectError(
      await fetch(url, { method: "POST", headers: { "content-type": "text/plain" }, body: "hi" }),
      415,
      "unsupported_media_type",
    );
  });

  test("every response carries a request id", async () => {
    const res = await api.fetch("/health");
    expect(res.headers.get("x-request-id")?.length ?? 0).toBeGreaterThan(0);
  });
});

describe("turns over HTTP", () => {
  test("post a message, read events to completion, read messages; a second post while busy is 409", async () => {
    const conv = await (
      await api.client.workspaces[":id"].conversations.$post({
        param: { id: "default" },
        json: { title: "t" },
      })
    ).json();
    const posted = await api.client.conversations[":id"].messages.$post({
      param: { id: conv.id },
      json: { text: "hi" },
    });
    expect(posted.status).toBe(202);
    const body = await posted.json();
    if (!("turnId" in body)) throw new Error("a message to an idle conversation starts a turn");
    const { turnId } = body;
    expect(turnId.length).toBeGreaterThan(0);

    const events = await api.fetch(`/conversations/${conv.id}/events`);
    expect(events.headers.get("content-type")).toContain("text/event-stream");
    const seen = await readSse(
      events,
      (m) => m.data.type === "turn.completed" || m.data.type === "turn.failed",
    );
    expect(seen.map((m) => m.id)).toEqual(seen.map((_, i) => i + 1));
    expect(seen.at(-1)?.data.type).toBe("turn.completed");

    const messages = await (
      await api.client.conversations[":id"].messages.$get({ param: { id: conv.id } })
    ).json();
    expect(messages.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    const status = await (await api.client.conversations[":id"].$get({ param: { id: conv.id } })).json();
    expect(status.status).toBe("completed");
    const cancel = await api.client.conversations[":id"].cancel.$post({ param: { id: conv.id } });
    expect((await cancel.json()).status).toBe("idle");
  });

  test("GET /providers lists the scripted provider", async () => {
    const body = await (await api.client.providers.$get()).json();
    expect(body.providers.map((p) => [p.id, p.kind, p.status])).toEqual([
      ["scripted", "scripted", "available"],
    ]);
  });
});

describe("documents", () => {
  test("openapi.json covers every route", async () => {
    const doc = (await (await api.fetch("/openapi.json")).json()) as {
      openapi: string;
      paths: Record<string, object>;
    };
    expect(doc.openapi).toBe("3.1.0");
    for (const path of [
      "/health",
      "/metrics",
      "/workspaces",
      "/workspaces/{id}",
      "/workspaces/{id}/star",
      "/workspaces/{id}/conversations",
      "/conversations/{id}",
      "/conversations/{id}/messages",
      "/conversations/{id}/cancel",
      "/conversations/{id}/events",
      "/providers",
    ]) {
      expect(doc.paths[path]).toBeDefined();
    }
  });

  test("metrics are Prometheus text with the required families", async () => {
    await api.fetch("/workspaces");
    const text = await (await api.fetch("/metrics")).text();
    for (const name of [
      "dispatch_http_requests_total",
      "dispatch_http_request_duration_seconds",
      "dispatch_active_turns",
      "dispatch_events_appended_total",
      "dispatch_faults_total",
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toContain('route="/workspaces"');
  });
});
