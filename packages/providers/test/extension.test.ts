import { afterEach, describe, expect, test } from "bun:test";
import { conversationStoreExtension } from "@dispatch/conversation-store";
import { type AnyExtension, defineExtension, StartupError } from "@dispatch/kernel";
import { createTestHost, type TestHost } from "@dispatch/kernel/testing";
import { concurrencyManagerRef, providerConcurrencyExtension } from "@dispatch/provider-concurrency";
import { z } from "zod";
import { providersExtension } from "../src/extension.ts";
import { defineProviderKind, providerKindsPoint } from "../src/provider-kind.ts";
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

async function start(config?: Record<string, unknown>, extra: AnyExtension[] = []): Promise<TestHost> {
  const host = await createTestHost({
    extensions: [conversationStoreExtension, providerConcurrencyExtension, providersExtension, ...extra],
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

/** An outside extension contributing the kind `shout`: it answers with the user's text in capitals. */
const shoutKind = defineProviderKind({
  kind: "shout",
  options: z.object({ suffix: z.string().default("!") }),
  create: (config) => ({
    status: "available",
    provider: {
      id: config.id,
      kind: "shout",
      async *stream(request) {
        const last = request.messages.at(-1);
        const text = last?.role === "user" ? last.content : "";
        yield { type: "text-delta", text: `${text.toUpperCase()}${config.suffix}` };
        yield { type: "finish", reason: "stop" };
      },
    },
  }),
});
const shoutExtension = defineExtension({
  manifest: { id: "shout", version: "1.0.0", extends: ["providers"] },
  register: (reg) => reg.contribute(providerKindsPoint, shoutKind),
  activate: () => {},
});

describe("provider kinds contributed by other extensions", () => {
  test("an entry of a contributed kind is built by it and called through the service", async () => {
    const host = await start({ providers: [{ id: "loud", kind: "shout", suffix: "!!", maxConcurrent: 3 }] }, [
      shoutExtension,
    ]);
    const service = host.get(providersRef);
    expect(service.list()).toEqual([
      { id: "loud", kind: "shout", models: [], maxConcurrent: 3, status: "available" },
    ]);
    const parts = await collect(service.stream("loud", ask("hello"), context()));
    expect(parts.filter((p) => p.type === "text-delta")).toEqual([{ type: "text-delta", text: "HELLO!!" }]);
    expect(host.logs.find((r) => r.msg === "provider ready")).toMatchObject({
      kind: "shout",
      kindFrom: "shout",
    });
  });

  test("a bad option, an unknown key or an unknown kind fails start-up naming each JSON path", async () => {
    const error = await start(
      {
        providers: [
          { id: "a", kind: "shout", suffix: 3 },
          { id: "b", kind: "shout", temperature: 0.5 },
          { id: "c", kind: "gemini" },
        ],
      },
      [shoutExtension],
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StartupError);
    expect((error as StartupError).problems.map((p) => p.message)).toEqual([
      "providers[0].suffix: Invalid input: expected string, received number",
      "providers[1].temperature: unknown key",
      'providers[2].kind: unknown provider kind "gemini" (known: anthropic, openai-compatible, scripted, shout)',
    ]);
  });

  test("without the contributing extension its kind is unknown", async () => {
    const error = await start({ providers: [{ id: "loud", kind: "shout" }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(error)).toContain(
      'providers[0].kind: unknown provider kind "shout" (known: anthropic, openai-compatible, scripted)',
    );
  });

  test("a kind that throws while building gives an unavailable provider; a call says why", async () => {
    const broken = defineExtension({
      manifest: { id: "broken", version: "1.0.0", extends: ["providers"] },
      register: (reg) =>
        reg.contribute(
          providerKindsPoint,
          defineProviderKind({
            kind: "broken",
            options: z.object({}),
            create: () => {
              throw new Error("no model files here");
            },
          }),
        ),
      activate: () => {},
    });
    const host = await start({ providers: [{ id: "b", kind: "broken" }] }, [broken]);
    const reason = 'provider kind "broken" failed to build it: no model files here';
    expect(host.get(providersRef).get("b")).toMatchObject({ status: "unavailable", reason });
    const error = errorOf(await collect(host.get(providersRef).stream("b", ask("hi"), context())));
    expect(error).toEqual({
      code: "unavailable",
      message: `provider "b" is unavailable: ${reason}`,
      retryable: false,
    });
  });

  test("a second contributor of a built-in kind name fails the check, naming both", async () => {
    const twin = defineExtension({
      manifest: { id: "twin", version: "1.0.0", extends: ["providers"] },
      register: (reg) => reg.contribute(providerKindsPoint, { ...shoutKind, kind: "scripted" }),
      activate: () => {},
    });
    const error = await start(undefined, [twin]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(error)).toContain(
      '"scripted" is contributed to extension point "providers.kinds" by both "providers" and "twin"',
    );
  });
});
