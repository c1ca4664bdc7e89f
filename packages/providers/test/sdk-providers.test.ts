import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { z } from "zod";
import { providerConfigSchema } from "../src/config.ts";
import { createModelProvider } from "../src/create-model-provider.ts";
import { textScenario, toolScenario, type WireTestServer } from "../src/testing/index.ts";
import { toolSpecFromZod } from "../src/tool-spec.ts";
import { ask, collect, errorOf, KEY_ENV, realKinds, realProvider, TEST_KEY, within } from "./helpers.ts";

for (const { kind, start, keyHeader, keyPrefix } of realKinds) {
  describe(`${kind} provider against its wire format`, () => {
    let server: WireTestServer;
    beforeEach(() => {
      server = start();
    });
    afterEach(async () => {
      await server.stop();
    });

    test("plain text streams as deltas, then usage and finish", async () => {
      server.enqueue({ ...textScenario("Hello there, world", 3), usage: { input: 12, output: 7 } });
      const parts = await collect(realProvider(kind, server).stream(ask("hi"), new AbortController().signal));
      expect(parts).toEqual([
        { type: "text-delta", text: "Hello " },
        { type: "text-delta", text: "there," },
        { type: "text-delta", text: " world" },
        { type: "usage", inputTokens: 12, outputTokens: 7 },
        { type: "finish", reason: "stop" },
      ]);
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]?.headers[keyHeader]).toBe(`${keyPrefix}${TEST_KEY}`);
    });

    test("one tool call arrives with parsed input", async () => {
      server.enqueue(toolScenario([{ name: "read_file", input: { path: "a.txt" }, id: "call_a" }]));
      const parts = await collect(
        realProvider(kind, server).stream(ask("read"), new AbortController().signal),
      );
      expect(parts.filter((p) => p.type === "tool-call")).toEqual([
        { type: "tool-call", toolCallId: "call_a", toolName: "read_file", input: { path: "a.txt" } },
      ]);
      expect(parts.at(-1)).toEqual({ type: "finish", reason: "tool-calls" });
    });

    test("several tool calls after some text keep their order and inputs", async () => {
      server.enqueue({
        stream: [
          { text: "Let me look." },
          { tool: { id: "c1", name: "list_dir", args: '{"path":"."}', pieces: 3 } },
          { tool: { id: "c2", name: "grep", args: '{"pattern":"TODO","path":"src"}', pieces: 4 } },
        ],
      });
      const parts = await collect(realProvider(kind, server).stream(ask("go"), new AbortController().signal));
      expect(parts.map((p) => p.type)).toEqual(["text-delta", "tool-call", "tool-call", "usage", "finish"]);
      expect(parts[1]).toEqual({
        type: "tool-call",
        toolCallId: "c1",
        toolName: "list_dir",
        input: { path: "." },
      });
      expect(parts[2]).toEqual({
        type: "tool-call",
        toolCallId: "c2",
        toolName: "grep",
        input: { pattern: "TODO", path: "src" },
      });
    });

    test("tool arguments that are not valid JSON become a tool-call-error, not a crash", async () => {
      server.enqueue({
        stream: [
          { tool: { id: "c9", name: "write_file", args: '{"path": "a.txt", "content": ', pieces: 2 } },
        ],
      });
      const parts = await collect(
        realProvider(kind, server).stream(ask("write"), new AbortController().signal),
      );
      const bad = parts.find((p) => p.type === "tool-call-error");
      expect(bad).toMatchObject({ type: "tool-call-error", toolCallId: "c9", toolName: "write_file" });
      expect(bad?.type === "tool-call-error" && bad.rawInput).toBe('{"path": "a.txt", "content": ');
      expect(bad?.type === "tool-call-error" && bad.message).toContain("not valid JSON");
      expect(parts.at(-1)).toEqual({ type: "finish", reason: "tool-calls" });
    });

    test("the request carries the system prompt, history, tool results and zod-generated tool schemas", async () => {
      server.enqueue(textScenario("ok"));
      const tool = toolSpecFromZod(
        "read_file",
        "Reads a file",
        z.object({ path: z.string().describe("file path") }),
      );
      await collect(
        realProvider(kind, server).stream(
          {
            model: "the-model",
            system: "You are terse.",
            tools: [tool],
            maxOutputTokens: 321,
            messages: [
              { role: "user", content: "read a.txt" },
              {
                role: "assistant",
                parts: [
                  { type: "text", text: "Reading." },
                  { type: "tool-call", toolCallId: "t1", toolName: "read_file", input: { path: "a.txt" } },
                ],
              },
              {
                role: "tool",
                results: [{ toolCallId: "t1", toolName: "read_file", output: "hello", isError: false }],
              },
            ],
          },
          new AbortController().signal,
        ),
      );
      const body = JSON.stringify(server.requests[0]?.body);
      expect(body).toContain('"the-model"');
      expect(body).toContain("You are terse.");
      expect(body).toContain("read a.txt");
      expect(body).toContain('"t1"');
      expect(body).toContain("hello");
      expect(body).toContain("321");
      expect(body).toContain('"file path"');
      expect(body).toContain('"required":["path"]');
    });

    test("an error event after the first token ends the call with a final error", async () => {
      server.enqueue({
        stream: [
          { text: "Partial" },
          { error: { type: "overloaded_error", message: "Overloaded mid-answer" } },
        ],
      });
      const parts = await collect(realProvider(kind, server).stream(ask("hi"), new AbortController().signal));
      expect(parts[0]).toEqual({ type: "text-delta", text: "Partial" });
      const error = errorOf(parts);
      expect(error.code).toBe("overloaded");
      expect(error.retryable).toBe(false);
      expect(error.message).toContain("Overloaded mid-answer");
    });

    test("an error event before any content is classified and retryable", async () => {
      server.enqueue({ stream: [{ error: { type: "overloaded_error", message: "Overloaded" } }] });
      const error = errorOf(
        await collect(realProvider(kind, server).stream(ask("hi"), new AbortController().signal)),
      );
      expect(error).toMatchObject({ code: "overloaded", retryable: true });
      expect(error.message).toContain("Overloaded");
    });

    test("a connection reset mid-stream is a stream_error", async () => {
      server.enqueue({ stream: [{ text: "Hel" }, { delayMs: 10 }, { reset: true }] });
      const parts = await collect(realProvider(kind, server).stream(ask("hi"), new AbortController().signal));
      expect(parts[0]).toEqual({ type: "text-delta", text: "Hel" });
      expect(errorOf(parts)).toMatchObject({ code: "stream_error", retryable: false });
    });

    test("429 with Retry-After is rate_limited, retryable, with the delay in ms", async () => {
      server.enqueue({ status: 429, headers: { "retry-after": "3" } });
      const error = errorOf(
        await collect(realProvider(kind, server).stream(ask("hi"), new AbortController().signal)),
      );
      expect(error).toMatchObject({ code: "rate_limited", status: 429, retryable: true, retryAfterMs: 3000 });
      expect(error.message).toContain("429");
    });

    test("retry-after-ms wins over Retry-After", async () => {
      server.enqueue({ status: 429, headers: { "retry-after": "3", "retry-after-ms": "250" } });
      const error = errorOf(
        await collect(realProvider(kind, server).stream(ask("hi"), new AbortController().signal)),
      );
      expect(error.retryAfterMs).toBe(250);
    });

    test("529 overloaded is retryable and says what the provider answered", async () => {
      server.enqueue({ status: 529, error: { type: "overloaded_error", message: "Overloaded" } });
      const error = errorOf(
        await collect(realProvider(kind, server).stream(ask("hi"), new AbortController().signal)),
      );
      expect(error).toMatchObject({ code: "overloaded", status: 529, retryable: true });
      expect(error.message).toBe('provider "p1" answered 529 overloaded_error: Overloaded');
    });

    test("503 is unavailable and retryable", async () => {
      server.enqueue({ status: 503 });
      const error = errorOf(
        await collect(realProvider(kind, server).stream(ask("hi"), new AbortController().signal)),
      );
      expect(error).toMatchObject({ code: "unavailable", status: 503, retryable: true });
    });

    test("401 is a final auth error naming the key variable, never the key", async () => {
      // A careless proxy echoing the credentials back must not leak them into our message.
      server.enqueue({
        status: 401,
        error: { type: "authentication_error", message: `invalid key ${TEST_KEY}` },
      });
      const error = errorOf(
        await collect(realProvider(kind, server).stream(ask("hi"), new AbortController().signal)),
      );
      expect(error).toMatchObject({ code: "auth", status: 401, retryable: false });
      expect(error.message).toContain(KEY_ENV);
      expect(JSON.stringify(error)).not.toContain(TEST_KEY);
    });

    test("a quota-exhausted 429 is final", async () => {
      server.enqueue({
        status: 429,
        error: {
          type: "insufficient_quota",
          code: "insufficient_quota",
          message: "You exceeded your current quota",
        },
      });
      const error = errorOf(
        await collect(realProvider(kind, server).stream(ask("hi"), new AbortController().signal)),
      );
      expect(error).toMatchObject({ code: "quota", status: 429, retryable: false });
      expect(error.message).toContain("quota");
    });

    test("abort mid-stream closes the HTTP connection (the server sees it)", async () => {
      server.enqueue({ stream: [{ text: "first" }, { hang: true }] });
      const controller = new AbortController();
      const parts = [];
      for await (const part of realProvider(kind, server).stream(ask("hi"), controller.signal)) {
        parts.push(part);
        if (part.type === "text-delta") controller.abort();
      }
      expect(errorOf(parts).code).toBe("aborted");
      const request = await server.waitForRequest(0);
      await within(request.clientClosed, 5000, "the server to see the client close");
      expect(request.didClientClose).toBe(true);
    });

    test("abort while waiting for response headers closes the connection", async () => {
      server.enqueue({ hangBeforeHeaders: true });
      const controller = new AbortController();
      const done = collect(realProvider(kind, server).stream(ask("hi"), controller.signal));
      const request = await within(server.waitForRequest(0), 5000, "the request");
      controller.abort();
      expect(errorOf(await done).code).toBe("aborted");
      await within(request.clientClosed, 5000, "the server to see the client close");
    });

    test("a consumer that stops early closes the connection", async () => {
      server.enqueue({ stream: [{ text: "one" }, { hang: true }] });
      for await (const part of realProvider(kind, server).stream(ask("hi"), new AbortController().signal)) {
        expect(part.type).toBe("text-delta");
        break;
      }
      const request = await server.waitForRequest(0);
      await within(request.clientClosed, 5000, "the server to see the client close");
    });

    test("an already-aborted signal makes no request at all", async () => {
      const controller = new AbortController();
      controller.abort();
      const parts = await collect(realProvider(kind, server).stream(ask("hi"), controller.signal));
      expect(errorOf(parts).code).toBe("aborted");
      expect(server.requests).toHaveLength(0);
    });

    test("the first configured model is used when the request names none", async () => {
      server.enqueue(textScenario("ok"));
      await collect(
        realProvider(kind, server, { models: ["fallback-model"] }).stream(
          ask("hi", { model: "" }),
          new AbortController().signal,
        ),
      );
      expect(JSON.stringify(server.requests[0]?.body)).toContain('"fallback-model"');
    });

    test("a missing key variable makes the provider unavailable, naming the variable", () => {
      const config = providerConfigSchema.parse({
        id: "p1",
        kind,
        baseURL: server.baseURL,
        apiKeyEnv: KEY_ENV,
      });
      const built = createModelProvider(config, {});
      expect(built).toMatchObject({
        status: "unavailable",
        reason: `set the environment variable ${KEY_ENV}`,
      });
    });
  });
}

test("a connection refused before any answer is a stream_error", async () => {
  const { start } = realKinds[1] ?? realKinds[0]!;
  const server = start();
  const provider = realProvider("openai-compatible", server);
  await server.stop();
  const error = errorOf(await collect(provider.stream(ask("hi"), new AbortController().signal)));
  expect(error).toMatchObject({ code: "stream_error", retryable: false });
  expect(error.message).toContain('provider "p1"');
});

test("an openai-compatible provider without apiKeyEnv sends no Authorization header", async () => {
  const { start } = realKinds[1]!;
  const server = start();
  try {
    server.enqueue(textScenario("ok"));
    const config = providerConfigSchema.parse({
      id: "local",
      kind: "openai-compatible",
      baseURL: server.baseURL,
    });
    const built = createModelProvider(config, { OPENAI_API_KEY: "should-not-be-read" });
    if (built.status !== "available") throw new Error("expected available");
    await collect(built.provider.stream(ask("hi"), new AbortController().signal));
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
  } finally {
    await server.stop();
  }
});
