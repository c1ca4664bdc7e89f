import { describe, expect, test } from "bun:test";
import type { Message } from "@dispatch/wire";
import { missingResultOutput, toModelMessages } from "./model-messages.ts";

let id = 0;
const msg = (role: Message["role"], parts: Message["parts"]): Message => ({
  id: `m${++id}`,
  conversationId: "c",
  turnId: "t",
  role,
  parts,
  createdAt: new Date(0).toISOString(),
});

describe("toModelMessages", () => {
  test("maps user text, assistant text and tool calls, and tool results", () => {
    const out = toModelMessages([
      msg("user", [{ type: "text", text: "list files" }]),
      msg("assistant", [
        { type: "text", text: "Looking." },
        { type: "tool-call", toolCallId: "k1", toolName: "list_dir", input: { path: "." } },
      ]),
      msg("tool", [
        { type: "tool-result", toolCallId: "k1", toolName: "list_dir", output: "a.txt", isError: false },
      ]),
      msg("assistant", [{ type: "text", text: "One file." }]),
    ]);
    expect(out).toEqual([
      { role: "user", content: "list files" },
      {
        role: "assistant",
        parts: [
          { type: "text", text: "Looking." },
          { type: "tool-call", toolCallId: "k1", toolName: "list_dir", input: { path: "." } },
        ],
      },
      {
        role: "tool",
        results: [{ toolCallId: "k1", toolName: "list_dir", output: "a.txt", isError: false }],
      },
      { role: "assistant", parts: [{ type: "text", text: "One file." }] },
    ]);
  });

  test("a tool call left without a result (crash, cancel) gets an error result before the next message", () => {
    const out = toModelMessages([
      msg("user", [{ type: "text", text: "go" }]),
      msg("assistant", [
        { type: "tool-call", toolCallId: "k1", toolName: "bash", input: {} },
        { type: "tool-call", toolCallId: "k2", toolName: "bash", input: {} },
      ]),
      msg("tool", [
        { type: "tool-result", toolCallId: "k1", toolName: "bash", output: "ok", isError: false },
      ]),
      msg("assistant", [{ type: "tool-call", toolCallId: "k3", toolName: "bash", input: {} }]),
      msg("user", [{ type: "text", text: "again" }]),
    ]);
    expect(out[2]).toEqual({
      role: "tool",
      results: [
        { toolCallId: "k1", toolName: "bash", output: "ok", isError: false },
        { toolCallId: "k2", toolName: "bash", output: missingResultOutput, isError: true },
      ],
    });
    expect(out[4]).toEqual({
      role: "tool",
      results: [{ toolCallId: "k3", toolName: "bash", output: missingResultOutput, isError: true }],
    });
    expect(out[5]).toEqual({ role: "user", content: "again" });
  });

  test("an assistant message with no parts is left out", () => {
    expect(toModelMessages([msg("assistant", [])])).toEqual([]);
  });
});
