import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createConcurrencyManager } from "@dispatch/provider-concurrency";
import { providerConfigSchema } from "../src/config.ts";
import { createModelProvider } from "../src/create-model-provider.ts";
import { contextWindowsOf, modelIds } from "../src/model-list.ts";
import { createProvidersService } from "../src/providers-service.ts";
import { scriptSchema } from "../src/script.ts";
import { createScriptedProvider } from "../src/scripted-provider.ts";
import { textScenario, type WireTestServer } from "../src/testing/index.ts";
import { estimatePromptTokens } from "../src/token-estimate.ts";
import type { ModelRequest } from "../src/types.ts";
import { ask, collect, realKinds, realProvider } from "./helpers.ts";

for (const { kind, start } of realKinds) {
  describe(`${kind}: usage`, () => {
    let server: WireTestServer;
    beforeEach(() => {
      server = start();
    });
    afterEach(async () => {
      await server.stop();
    });

    test("cached input tokens are reported as a part of the input tokens", async () => {
      server.enqueue({ ...textScenario("hi"), usage: { input: 120, output: 7, cached: 100 } });
      const parts = await collect(realProvider(kind, server).stream(ask("hi"), new AbortController().signal));
      expect(parts.find((p) => p.type === "usage")).toEqual({
        type: "usage",
        inputTokens: 120,
        outputTokens: 7,
        cachedInputTokens: 100,
      });
    });
  });
}

describe("scripted provider usage", () => {
  const script = scriptSchema.parse({
    replies: [
      { when: "^given", steps: [{ text: "ok", usage: { input: 1000, output: 20, cached: 400 } }] },
      { when: "^tool", steps: [{ tool: "echo", input: { text: "x" }, usage: { input: 5, output: 6 } }] },
    ],
    fallback: { steps: [{ text: "abcdefgh" }] },
  });
  const provider = createScriptedProvider("scripted", script);
  const request = (text: string): ModelRequest => ({
    model: "demo",
    system: "be brief",
    messages: [{ role: "user", content: text }],
    tools: [{ name: "echo", description: "echoes", inputSchema: { type: "object" } }],
  });

  test("a step's `usage` is what the call reports", async () => {
    const given = await collect(provider.stream(request("given"), new AbortController().signal));
    expect(given.find((p) => p.type === "usage")).toEqual({
      type: "usage",
      inputTokens: 1000,
      outputTokens: 20,
      cachedInputTokens: 400,
    });
    const tool = await collect(provider.stream(request("tool"), new AbortController().signal));
    expect(tool.find((p) => p.type === "usage")).toEqual({ type: "usage", inputTokens: 5, outputTokens: 6 });
  });

  test("without one, the call reports the shared estimate: 4 characters a token of prompt and answer", async () => {
    const req = request("anything else");
    const parts = await collect(provider.stream(req, new AbortController().signal));
    expect(parts.find((p) => p.type === "usage")).toEqual({
      type: "usage",
      inputTokens: estimatePromptTokens(req),
      outputTokens: 2,
    });
    // the estimate counts the system prompt, the messages and the tool schemas
    const chars = "be brief".length + JSON.stringify(req.messages).length + JSON.stringify(req.tools).length;
    expect(estimatePromptTokens(req)).toBe(Math.ceil(chars / 4));
  });
});

describe("models list", () => {
  test("plain ids and { id, contextWindow } entries mix; the service describes both", () => {
    const config = providerConfigSchema.parse({
      id: "claude",
      kind: "scripted",
      models: ["small", { id: "big", contextWindow: 200_000 }, { id: "plain" }],
    });
    expect(modelIds(config.models)).toEqual(["small", "big", "plain"]);
    expect(contextWindowsOf(config.models)).toEqual({ big: 200_000 });
    const service = createProvidersService({
      manager: createConcurrencyManager(),
      providers: [{ settings: config, built: createModelProvider(config) }],
    });
    expect(service.get("claude")).toMatchObject({
      models: ["small", "big", "plain"],
      contextWindows: { big: 200_000 },
    });
  });

  test("a bad entry is an error at its own path", () => {
    const parsed = providerConfigSchema.safeParse({
      id: "p",
      kind: "scripted",
      models: ["ok", { id: "big", contextWindow: 0 }, { id: "x", window: 5 }],
    });
    expect(parsed.success).toBe(false);
    const paths = parsed.error?.issues.map((i) => i.path.join(".")) ?? [];
    expect(paths.some((p) => p.startsWith("models.1"))).toBe(true);
    expect(paths.some((p) => p.startsWith("models.2"))).toBe(true);
  });
});
