import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { MapToolRegistry } from "./tool-registry.ts";
import type { ToolDefinition } from "./types.ts";

const tool = (
  name: string,
  input: z.ZodType = z.object({ path: z.string().describe("a path") }),
): ToolDefinition =>
  ({ name, description: `${name} tool`, input, run: async () => ({ output: "" }) }) as ToolDefinition;

describe("MapToolRegistry", () => {
  test("register, get, list in order; the returned function removes exactly that tool", () => {
    const registry = new MapToolRegistry();
    const offA = registry.register(tool("a"));
    registry.register(tool("b"));
    expect(registry.list().map((t) => t.name)).toEqual(["a", "b"]);
    expect(registry.get("a")?.description).toBe("a tool");
    offA();
    offA();
    expect(registry.get("a")).toBeUndefined();
    expect(registry.list().map((t) => t.name)).toEqual(["b"]);
  });

  test("a second tool with the same name is a conflict; a stale remover does not remove the newer tool", () => {
    const registry = new MapToolRegistry();
    const off = registry.register(tool("a"));
    expect(() => registry.register(tool("a"))).toThrow('a tool named "a" is already registered');
    off();
    const newer = tool("a");
    registry.register(newer);
    off();
    expect(registry.get("a")).toBe(newer);
  });

  test("refuses names model APIs would reject", () => {
    const registry = new MapToolRegistry();
    expect(() => registry.register(tool("has space"))).toThrow("Expected tool `name` to match");
    expect(() => registry.register(tool(""))).toThrow("Expected tool `name` to match");
  });

  test("specOf turns the zod input into JSON schema once, and copes with what JSON schema cannot say", () => {
    const registry = new MapToolRegistry();
    const a = tool("a");
    registry.register(a);
    const spec = registry.specOf(a);
    expect(spec).toEqual({
      name: "a",
      description: "a tool",
      inputSchema: expect.objectContaining({
        type: "object",
        properties: { path: { type: "string", description: "a path" } },
        required: ["path"],
      }),
    });
    expect(registry.specOf(a)).toBe(spec);
    const odd = tool("odd", z.object({ when: z.date() }));
    expect(registry.specOf(odd).name).toBe("odd");
  });
});
