import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConversationStore, GroupCommit } from "@dispatch/conversation-store";
import { createMemoryLogger } from "@dispatch/kernel";
import { createMemTelemetryExtension, type MemorySample, memoryTelemetryRef } from "@dispatch/mem-telemetry";
import { type ModelRequest, providersRef } from "@dispatch/providers";
import { z } from "zod";
import { orchestratorConfigSchema } from "../src/config.ts";
import { TurnOrchestrator } from "../src/turn-orchestrator.ts";
import { type OrchestratorHost, startOrchestratorHost, waitForEvent } from "./fixtures/orchestrator-host.ts";
import { echoTool } from "./fixtures/test-tools.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function host(options: Parameters<typeof startOrchestratorHost>[0] = {}): Promise<OrchestratorHost> {
  const h = await startOrchestratorHost(options);
  cleanups.push(() => h.stop());
  return h;
}

/** An orchestrator over the host's real store and providers, with a seam around the providers service. */
function directOrchestrator(
  h: OrchestratorHost,
  options: { config?: Record<string, unknown>; store?: ConversationStore; requests?: ModelRequest[] } = {},
) {
  const providers = h.test.get(providersRef);
  const orchestrator = new TurnOrchestrator({
    store: options.store ?? h.store,
    providers: {
      call: (id, request, context, sink) => {
        options.requests?.push(structuredClone(request));
        return providers.call(id, request, context, sink);
      },
    },
    bus: { publish: (event, payload) => h.test.host.bus.publish(event, payload) },
    logger: createMemoryLogger().logger,
    config: orchestratorConfigSchema.parse({ coalesceMs: 5, ...options.config }),
    sampleMemory: () => ({ rssBytes: 1, heapUsedBytes: 2 }),
  });
  cleanups.push(async () => {
    await orchestrator.cancelAll(1000);
    orchestrator.dispose();
  });
  return orchestrator;
}

async function untilCompleted(orchestrator: TurnOrchestrator, conversationId: string, turnId: string) {
  const subscription = orchestrator.subscribe(conversationId, 0);
  const timer = setTimeout(() => subscription.close(), 10_000);
  try {
    for await (const event of subscription)
      if (event.type === "turn.completed" && event.turnId === turnId) return;
  } finally {
    clearTimeout(timer);
    subscription.close();
  }
  throw new Error("the turn did not complete");
}

describe("the model request", () => {
  test("system prompt from template, AGENTS.md and config; tools as JSON schema; history across steps", async () => {
    const h = await host();
    const root = mkdtempSync(join(tmpdir(), "orch-ws-"));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    writeFileSync(join(root, "AGENTS.md"), "Always run the tests.");
    await h.store.workspaces.create({ id: "proj", name: "Proj", root });
    const conversation = await h.store.conversations.create({
      workspaceId: "proj",
      provider: "scripted",
      model: "m1",
    });
    const requests: ModelRequest[] = [];
    const orchestrator = directOrchestrator(h, { config: { systemPrompt: "Be terse." }, requests });
    orchestrator.tools.register(echoTool);
    const { turnId } = await orchestrator.startTurn({ conversationId: conversation.id, text: "multi" });
    await untilCompleted(orchestrator, conversation.id, turnId);
    expect(requests).toHaveLength(3);
    const [first] = requests;
    expect(first?.model).toBe("m1");
    expect(first?.system).toContain(`root directory ${root}`);
    expect(first?.system).toContain("- echo: Echoes the given text.");
    expect(first?.system).toContain(`${process.platform}`);
    const system = first?.system ?? "";
    expect(system.indexOf("Always run the tests.")).toBeGreaterThan(system.indexOf("echo"));
    expect(system.indexOf("Be terse.")).toBeGreaterThan(system.indexOf("Always run the tests."));
    expect(first?.tools).toEqual([
      {
        name: "echo",
        description: "Echoes the given text.",
        inputSchema: expect.objectContaining({ type: "object", properties: { text: { type: "string" } } }),
      },
    ]);
    expect(first?.messages).toEqual([{ role: "user", content: "multi" }]);
  });

  test("the second model call sees the first call's tool call and its result", async () => {
    const h = await host();
    const requests: ModelRequest[] = [];
    const orchestrator = directOrchestrator(h, { requests });
    orchestrator.tools.register(echoTool);
    const conversationId = await h.newConversation();
    const { turnId } = await orchestrator.startTurn({ conversationId, text: "multi" });
    await untilCompleted(orchestrator, conversationId, turnId);
    expect(requests).toHaveLength(3);
    const second = requests[1]?.messages ?? [];
    expect(second.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
    expect(second[2]).toMatchObject({ role: "tool", results: [{ toolName: "echo", output: "echo: one" }] });
  });
});

describe("memory telemetry", () => {
  test("turns record the telemetry service's samples and are refused with memory_pressure above shedRatio", async () => {
    let rss = 100;
    const sampler = (): MemorySample => ({
      at: Date.now(),
      rssBytes: rss,
      heapUsedBytes: 7,
      heapTotalBytes: 8,
      externalBytes: 0,
      arrayBuffersBytes: 0,
    });
    const h = await host({
      extensions: [createMemTelemetryExtension({ sampler })],
      config: { telemetry: { memory: { limitBytes: 1000 } } },
    });
    const conversationId = await h.newConversation();
    const { turnId } = await h.orchestrator.startTurn({ conversationId, text: "hello" });
    const events = await h.untilFinal(conversationId, turnId);
    expect(events[0]?.data.memory).toEqual({ rssBytes: 100, heapUsedBytes: 7 });
    expect(events.at(-1)?.data.memory).toEqual({ rssBytes: 100, heapUsedBytes: 7 });

    rss = 990;
    h.test.get(memoryTelemetryRef).sample();
    await expect(h.orchestrator.startTurn({ conversationId, text: "hello" })).rejects.toMatchObject({
      code: "memory_pressure",
    });
    expect(await h.store.turns.active(conversationId)).toBeUndefined();
  });
});

describe("limits", () => {
  test("maxSteps stops a model that keeps calling tools, with a clear failure", async () => {
    const h = await host({ defaults: { maxSteps: 3 } });
    h.orchestrator.tools.register(echoTool);
    const conversationId = await h.newConversation();
    const { turnId } = await h.orchestrator.startTurn({ conversationId, text: "forever" });
    const events = await h.untilFinal(conversationId, turnId);
    expect(events.filter((e) => e.type === "step.started")).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({
      type: "turn.failed",
      data: { code: "max_steps", error: expect.stringContaining("reached maxSteps (3)") },
    });
  });

  test("config is strict and validated: maxSteps below 1 and unknown keys are refused, naming the path", async () => {
    await expect(startOrchestratorHost({ defaults: { maxSteps: 0 } })).rejects.toThrow("defaults.maxSteps");
    await expect(startOrchestratorHost({ defaults: { maxStep: 3 } })).rejects.toThrow("maxStep");
  });

  test("a tool's huge output is capped in its event but kept (up to the model cap) in the message", async () => {
    const script = { replies: [{ when: "^big", steps: [{ tool: "big", input: {} }, { text: "ok" }] }] };
    const h = await host({ script });
    h.orchestrator.tools.register({
      name: "big",
      description: "Returns 50 KiB.",
      input: z.object({}),
      run: async () => ({ output: "b".repeat(50 * 1024) }),
    });
    const conversationId = await h.newConversation();
    const { turnId } = await h.orchestrator.startTurn({ conversationId, text: "big" });
    const events = await h.untilFinal(conversationId, turnId);
    const result = events.find((e) => e.type === "tool.result");
    expect(result?.data.truncated).toBe(true);
    expect(String(result?.data.output)).toContain("[output truncated:");
    expect(String(result?.data.output).length).toBeLessThan(17 * 1024);
    const tool = (await h.store.messages.list(conversationId)).find((m) => m.role === "tool");
    expect(tool?.parts[0]).toMatchObject({ output: "b".repeat(50 * 1024) });
  });

  test("a subscriber that never reads is dropped as slow_consumer and leaves no listener", async () => {
    const h = await host();
    const conversationId = await h.newConversation();
    const lazy = h.orchestrator.subscribe(conversationId, 0, { maxBuffered: 2 });
    const iterator = lazy[Symbol.asyncIterator]();
    const first = iterator.next(); // moves it to live, then never reads again
    const { turnId } = await h.orchestrator.startTurn({ conversationId, text: "multi" });
    await h.untilFinal(conversationId, turnId);
    expect((await first).value?.seq).toBe(1);
    expect(lazy.closedReason).toBe("slow_consumer");
    expect(h.orchestrator.stats).toMatchObject({ liveListeners: 0, subscriptions: 0 });
  });
});

describe("shutdown past the deadline", () => {
  test("a turn stuck where no signal reaches still gets turn.interrupted written", async () => {
    const h = await host();
    const stuck = new Set<string>();
    const store: ConversationStore = {
      ...h.store,
      messages: {
        maxTextBytes: h.store.messages.maxTextBytes,
        page: (conversationId, request) => h.store.messages.page(conversationId, request),
        append: (input) => h.store.messages.append(input),
        list: (conversationId) =>
          stuck.has(conversationId) ? new Promise(() => {}) : h.store.messages.list(conversationId),
      },
    };
    const orchestrator = directOrchestrator(h, { store });
    const conversationId = await h.newConversation();
    stuck.add(conversationId);
    const { turnId } = await orchestrator.startTurn({ conversationId, text: "hello" });
    await orchestrator.cancelAll(100);
    expect(orchestrator.getActiveConversationCount()).toBe(0);
    expect((await h.store.turns.get(turnId))?.status).toBe("interrupted");
    const events = await h.store.events.listAfter(conversationId, 0);
    expect(events.map((e) => e.type)).toEqual(["turn.started", "turn.interrupted"]);
  });
});

describe("cached workspaces and conversations", () => {
  test("a workspace changed between turns is seen by the next turn; a deleted one ends in not_found", async () => {
    const script = {
      replies: [{ when: "^where", steps: [{ tool: "where", input: {} }, { text: "there" }] }],
    };
    const h = await host({ script });
    h.orchestrator.tools.register({
      name: "where",
      description: "Says the workspace root.",
      input: z.object({}),
      run: async (_input, context) => ({ output: context.workspace.root }),
    });
    const first = mkdtempSync(join(tmpdir(), "orch-ws-"));
    const second = mkdtempSync(join(tmpdir(), "orch-ws-"));
    cleanups.push(() => rmSync(first, { recursive: true, force: true }));
    cleanups.push(() => rmSync(second, { recursive: true, force: true }));
    await h.store.workspaces.create({ id: "moving", root: first });
    const { id: conversationId } = await h.store.conversations.create({
      workspaceId: "moving",
      provider: "scripted",
      model: "demo",
    });
    const rootSeen = async () => {
      const { turnId } = await h.orchestrator.startTurn({ conversationId, text: "where" });
      const events = await h.untilFinal(conversationId, turnId);
      return events.find((e) => e.type === "tool.result" && e.turnId === turnId)?.data.output;
    };
    expect(await rootSeen()).toBe(first);
    await h.store.workspaces.update("moving", { root: second });
    expect(await rootSeen()).toBe(second);
    await h.store.workspaces.delete("moving");
    await expect(h.orchestrator.startTurn({ conversationId, text: "where" })).rejects.toMatchObject({
      code: "not_found",
    });
  });
});

describe("the reply that ends a turn", () => {
  /** The host's store, with every group transaction numbered and what each wrapped call ran inside. */
  function countingStore(h: OrchestratorHost, failAssistant = false) {
    let current = 0;
    let next = 0;
    const seen: Array<{ call: string; transaction: number }> = [];
    const group = new GroupCommit((fn) =>
      h.store.transaction(() => {
        current = ++next;
        return fn();
      }),
    );
    const store: ConversationStore = {
      ...h.store,
      grouped: (fn, options) => group.join(fn, options),
      messages: {
        maxTextBytes: h.store.messages.maxTextBytes,
        page: (conversationId, request) => h.store.messages.page(conversationId, request),
        list: (conversationId) => h.store.messages.list(conversationId),
        append: (input) => {
          seen.push({ call: `message ${input.role}`, transaction: current });
          if (failAssistant && input.role === "assistant")
            return Promise.reject(new Error("the disk said no to the reply"));
          return h.store.messages.append(input);
        },
      },
      turns: {
        ...h.store.turns,
        claim: (input) => h.store.turns.claim(input),
        get: (id) => h.store.turns.get(id),
        active: (id) => h.store.turns.active(id),
        listUnfinished: () => h.store.turns.listUnfinished(),
        adoptUnfinished: (id) => h.store.turns.adoptUnfinished(id),
        setStatus: (id, status, error) => {
          seen.push({ call: `status ${status}`, transaction: current });
          return h.store.turns.setStatus(id, status, error);
        },
      },
    };
    return { store, seen };
  }

  test("is stored in the group commit of the turn's final event", async () => {
    const h = await host();
    const { store, seen } = countingStore(h);
    const orchestrator = directOrchestrator(h, { store });
    const conversationId = await h.newConversation();
    const { turnId } = await orchestrator.startTurn({ conversationId, text: "hello" });
    await untilCompleted(orchestrator, conversationId, turnId);
    const reply = seen.find((s) => s.call === "message assistant");
    const final = seen.find((s) => s.call === "status completed");
    expect(reply?.transaction).toBeGreaterThan(0);
    expect(final?.transaction).toBe(reply?.transaction as number);
    const messages = await h.store.messages.list(conversationId);
    expect(messages.map((m) => m.role)).toEqual(["user", "assistant"]);
  });

  test("that cannot be stored fails the turn, which would have completed", async () => {
    const h = await host();
    const { store } = countingStore(h, true);
    const orchestrator = directOrchestrator(h, { store });
    const conversationId = await h.newConversation();
    const { turnId } = await orchestrator.startTurn({ conversationId, text: "hello" });
    const final = await waitForEvent(
      orchestrator,
      conversationId,
      (event) => event.turnId === turnId && event.type.startsWith("turn.") && event.type !== "turn.started",
    );
    expect(final.type).toBe("turn.failed");
    expect(final.data).toMatchObject({ code: "store_error" });
    expect(String(final.data.error)).toContain("the disk said no to the reply");
    expect((await h.store.turns.get(turnId))?.status).toBe("failed");
    const messages = await h.store.messages.list(conversationId);
    expect(messages.map((m) => m.role)).toEqual(["user"]);
  });
});
