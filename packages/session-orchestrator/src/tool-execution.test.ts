import { describe, expect, test } from "bun:test";
import { createMemoryLogger } from "@dispatch/kernel";
import { z } from "zod";
import { capText, executeToolCall } from "./tool-execution.ts";
import { MapToolRegistry } from "./tool-registry.ts";
import type { ToolContext, ToolDefinition } from "./types.ts";

function context(signal = new AbortController().signal): ToolContext {
  const at = new Date(0).toISOString();
  return {
    workspace: {
      id: "default",
      name: "Default",
      root: "/tmp",
      hostId: null,
      starred: false,
      network: null,
      permissions: {},
      createdAt: at,
      updatedAt: at,
    },
    conversationId: "c",
    turnId: "t",
    signal,
    logger: createMemoryLogger().logger,
  };
}

function registryWith(...tools: ToolDefinition<never>[]): MapToolRegistry {
  const registry = new MapToolRegistry();
  for (const t of tools) registry.register(t as ToolDefinition);
  return registry;
}

const add: ToolDefinition<{ a: number; b: number }> = {
  name: "add",
  description: "Adds.",
  input: z.object({ a: z.number(), b: z.number() }),
  run: async ({ a, b }) => ({ output: String(a + b) }),
};

const call = (toolName: string, input: unknown) => ({ toolCallId: "k1", toolName, input });
const aborted = () => "stopped";

describe("executeToolCall", () => {
  test("runs a tool with parsed input", async () => {
    const result = await executeToolCall(
      call("add", { a: 1, b: 2 }),
      registryWith(add as never),
      context(),
      aborted,
    );
    expect(result).toEqual({ toolCallId: "k1", toolName: "add", output: "3", isError: false });
  });

  test("every failure is a result with isError: invalid input, unknown tool, throw, bad result, provider parse error", async () => {
    const throws: ToolDefinition<object> = {
      name: "throws",
      description: "",
      input: z.object({}),
      run: () => {
        throw new Error("sync boom");
      },
    };
    const bad: ToolDefinition<object> = {
      name: "bad",
      description: "",
      input: z.object({}),
      run: async () => "not a result" as never,
    };
    const registry = registryWith(add as never, throws as never, bad as never);
    const invalid = await executeToolCall(call("add", { a: "1" }), registry, context(), aborted);
    expect(invalid.isError).toBe(true);
    expect(invalid.output).toContain('Invalid input for tool "add"');
    expect(invalid.output).toContain("expected number");
    const unknown = await executeToolCall(call("nope", {}), registry, context(), aborted);
    expect(unknown).toMatchObject({
      isError: true,
      output: 'Unknown tool "nope". Available tools: add, throws, bad.',
    });
    const thrown = await executeToolCall(call("throws", {}), registry, context(), aborted);
    expect(thrown).toMatchObject({ isError: true, output: 'Tool "throws" failed: sync boom' });
    const invalidResult = await executeToolCall(call("bad", {}), registry, context(), aborted);
    expect(invalidResult.output).toContain("returned an invalid result");
    const unparsed = await executeToolCall(
      { ...call("add", "{oops"), invalid: "Unexpected token o" },
      registry,
      context(),
      aborted,
    );
    expect(unparsed).toMatchObject({
      isError: true,
      output: 'The call to "add" could not be parsed: Unexpected token o',
    });
  });

  test("an abort answers at once even if the tool ignores it; an aborted turn does not start a tool", async () => {
    let runs = 0;
    const hang: ToolDefinition<object> = {
      name: "hang",
      description: "",
      input: z.object({}),
      run: () => {
        runs += 1;
        return new Promise(() => {});
      },
    };
    const controller = new AbortController();
    const pending = executeToolCall(
      call("hang", {}),
      registryWith(hang as never),
      context(controller.signal),
      aborted,
    );
    controller.abort();
    expect(await pending).toMatchObject({ isError: true, output: "stopped" });
    const again = await executeToolCall(
      call("hang", {}),
      registryWith(hang as never),
      context(controller.signal),
      aborted,
    );
    expect(again.output).toBe("stopped");
    expect(runs).toBe(1);
  });
});

describe("capText", () => {
  test("keeps short text and cuts long text at a byte budget, stating the cut", () => {
    expect(capText("short", 100)).toBe("short");
    const cut = capText("é".repeat(100), 50);
    expect(cut.startsWith("é".repeat(25))).toBe(true);
    expect(cut).toContain("[output truncated: 150 more bytes not shown]");
  });
});
