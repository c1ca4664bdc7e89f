import { afterEach, describe, expect, test } from "bun:test";
import { conversationStoreExtension } from "@dispatch/conversation-store";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { concurrencyManagerRef, providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { providersExtension } from "../src/extension.ts";
import { startOpenAITestServer, textScenario, type WireTestServer } from "../src/testing/index.ts";
import { type CallContext, providersRef } from "../src/types.ts";
import { ask, collect, errorOf, KEY_ENV, TEST_KEY } from "./helpers.ts";

const MISSING_ENV = "DISPATCH_TEST_MISSING_KEY";
const hosts: TestHost[] = [];
const servers: WireTestServer[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
  for (const server of servers.splice(0)) await server.stop();
  delete process.env[KEY_ENV];
});

async function start(config?: Record<string, unknown>): Promise<TestHost> {
  const host = await createTestHost({
    extensions: [conversationStoreExtension, providerConcurrencyExtension, providersExtension],
    config,
  });
  hosts.push(host);
  return host;
}

function context(): CallContext {
  return {
    signal: new AbortController().signal,
    workspaceId: "default",
    conversationId: "c1",
    turnId: "t1",
    promptStartedAt: Date.now(),
  };
}

function health(host: TestHost): Record<string, unknown> | undefined {
  return host.host.status().extensions.find((e) => e.id === "providers")?.health;
}

describe("providersExtension", () => {
  test("with no providers config it runs the scripted provider only, and says so", async () => {
    const host = await start();
    const service = host.get(providersRef);
    expect(service.list()).toEqual([
      { id: "scripted", kind: "scripted", models: [], maxConcurrent: 2, status: "available" },
    ]);
    expect(host.logs.some((r) => r.msg.includes("scripted provider only"))).toBe(true);
    const parts = await collect(service.stream("scripted", ask("hello?"), context()));
    expect(parts.flatMap((p) => (p.type === "text-delta" ? [p.text] : []))).toEqual([
      "Hello from the scripted provider.",
    ]);
    const slots = host.get(concurrencyManagerRef).snapshot();
    expect(slots.map((s) => [s.providerId, s.maxConcurrent])).toEqual([["scripted", 2]]);
  });

  test("a provider whose key is missing is unavailable in /health with the reason; a call names the variable", async () => {
    delete process.env[MISSING_ENV];
    const host = await start({
      providers: [
        { id: "claude", kind: "anthropic", apiKeyEnv: MISSING_ENV },
        { id: "scripted", kind: "scripted" },
      ],
    });
    expect(health(host)).toEqual({
      providers: [
        {
          id: "claude",
          kind: "anthropic",
          status: "unavailable",
          reason: `set the environment variable ${MISSING_ENV}`,
        },
        { id: "scripted", kind: "scripted", status: "available" },
      ],
    });
    const error = errorOf(await collect(host.get(providersRef).stream("claude", ask("hi"), context())));
    expect(error.code).toBe("missing_key");
    expect(error.message).toContain(MISSING_ENV);
    // Every configured provider gets its limit, even an unavailable one, so GET /providers lists it.
    expect(
      host
        .get(concurrencyManagerRef)
        .snapshot()
        .map((s) => s.providerId),
    ).toEqual(["claude", "scripted"]);
    expect(host.logs.some((r) => r.msg.includes("scripted provider only"))).toBe(false);
  });

  test("the key from the environment reaches the provider and never appears in logs, health or parts", async () => {
    process.env[KEY_ENV] = TEST_KEY;
    const server = startOpenAITestServer();
    servers.push(server);
    const host = await start({
      providers: [
        {
          id: "local",
          kind: "openai-compatible",
          baseURL: server.baseURL,
          apiKeyEnv: KEY_ENV,
          maxAttempts: 2,
          backoff: { baseMs: 1, maxMs: 2 },
        },
      ],
    });
    server.enqueue(
      textScenario("fine"),
      {
        status: 401,
        error: { type: "invalid_request_error", message: `Incorrect API key provided: ${TEST_KEY}` },
      },
      {
        status: 429,
        headers: { "retry-after-ms": "5" },
        error: { type: "rate_limit", message: `key ${TEST_KEY} is limited` },
      },
      textScenario("after retry"),
    );
    const service = host.get(providersRef);
    const ok = await collect(service.stream("local", ask("hi"), context()));
    const auth = await collect(service.stream("local", ask("hi"), context()));
    const retried = await collect(service.stream("local", ask("hi"), context()));
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${TEST_KEY}`);
    expect(ok.at(-1)).toEqual({ type: "finish", reason: "stop" });
    expect(errorOf(auth).code).toBe("auth");
    expect(retried.at(-1)).toEqual({ type: "finish", reason: "stop" });
    // The retry was logged with what the provider answered (redacted).
    expect(host.logs.some((r) => r.msg === "model call will be retried")).toBe(true);
    const everything = JSON.stringify({ logs: host.logs, status: host.host.status(), ok, auth, retried });
    expect(everything).toContain("[redacted]");
    expect(everything).not.toContain(TEST_KEY);
    const metrics = await host.host.metrics.metrics();
    expect(metrics).toContain('dispatch_provider_call_retries_total{provider="local",code="rate_limited"} 1');
    expect(metrics).not.toContain(TEST_KEY);
  });

  test("config errors name their JSON path", async () => {
    const failed = start({
      providers: [
        { id: "a", kind: "scripted", maxConcurrent: 0 },
        { id: "a", kind: "scripted" },
      ],
    });
    const error = await failed.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(error)).toContain("providers[0].maxConcurrent");
    expect(String(error)).toContain('providers[1].id: duplicate provider id "a"');
  });
});
