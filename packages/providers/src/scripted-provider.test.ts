import { describe, expect, test } from "bun:test";
import { scriptSchema } from "./script.ts";
import { createScriptedProvider } from "./scripted-provider.ts";
import type { ModelMessage, ModelRequest, StreamPart } from "./types.ts";

async function collect(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

const request = (messages: ModelMessage[]): ModelRequest => ({ model: "demo", messages, tools: [] });
const signal = () => new AbortController().signal;
const assistant = (text: string): ModelMessage => ({ role: "assistant", parts: [{ type: "text", text }] });
const texts = (parts: StreamPart[]) => parts.flatMap((p) => (p.type === "text-delta" ? [p.text] : []));

const script = scriptSchema.parse({
  replies: [
    {
      when: "write",
      steps: [
        { tool: "write_file", input: { path: "a.txt", content: "hi" } },
        { text: "Done writing.", chunks: 3 },
      ],
    },
    { when: "^fail", steps: [{ error: { status: 529, message: "Overloaded", retryAfterMs: 40 } }] },
    { when: "slow", steps: [{ text: "one two three four", chunks: 4, delayMs: 30 }] },
  ],
  fallback: { steps: [{ text: "Fallback." }] },
});

describe("scripted provider", () => {
  const provider = createScriptedProvider("scripted", script);

  test("the first step of the matching reply: a tool call, finishing with tool-calls", async () => {
    const parts = await collect(
      provider.stream(request([{ role: "user", content: "please write a file" }]), signal()),
    );
    expect(parts[0]).toMatchObject({
      type: "tool-call",
      toolName: "write_file",
      input: { path: "a.txt", content: "hi" },
    });
    expect(parts.at(-1)).toEqual({ type: "finish", reason: "tool-calls" });
    expect(parts.some((p) => p.type === "usage")).toBe(true);
  });

  test("assistant turns after the last user message pick the step; text streams in chunks", async () => {
    const messages: ModelMessage[] = [
      { role: "user", content: "please write a file" },
      {
        role: "assistant",
        parts: [{ type: "tool-call", toolCallId: "c1", toolName: "write_file", input: {} }],
      },
      { role: "tool", results: [{ toolCallId: "c1", toolName: "write_file", output: "ok", isError: false }] },
    ];
    const parts = await collect(provider.stream(request(messages), signal()));
    expect(texts(parts)).toEqual(["Done ", "writi", "ng."]);
    expect(parts.at(-1)).toEqual({ type: "finish", reason: "stop" });
  });

  test("past the last step each call finishes with stop and no text", async () => {
    const messages: ModelMessage[] = [{ role: "user", content: "write" }, assistant("a"), assistant("b")];
    const parts = await collect(provider.stream(request(messages), signal()));
    expect(texts(parts)).toEqual([]);
    expect(parts.at(-1)).toEqual({ type: "finish", reason: "stop" });
  });

  test("the LAST user message chooses the reply; unmatched text gets the fallback", async () => {
    const messages: ModelMessage[] = [
      { role: "user", content: "write" },
      assistant("Done writing."),
      { role: "user", content: "thanks" },
    ];
    expect(texts(await collect(provider.stream(request(messages), signal())))).toEqual(["Fallback."]);
  });

  test("an error step ends the call with that provider error", async () => {
    const parts = await collect(provider.stream(request([{ role: "user", content: "fail now" }]), signal()));
    expect(parts).toEqual([
      {
        type: "error",
        error: {
          code: "overloaded",
          message: 'provider "scripted" answered 529: Overloaded',
          status: 529,
          retryable: true,
          retryAfterMs: 40,
        },
      },
    ]);
  });

  test("abort between chunks stops the stream with an aborted error", async () => {
    const controller = new AbortController();
    const parts: StreamPart[] = [];
    for await (const part of provider.stream(
      request([{ role: "user", content: "slow" }]),
      controller.signal,
    )) {
      parts.push(part);
      if (part.type === "text-delta") controller.abort();
    }
    expect(texts(parts)).toEqual(["one t"]);
    expect(parts.at(-1)).toMatchObject({ type: "error", error: { code: "aborted" } });
  });

  test("an already-aborted signal yields only the aborted error", async () => {
    const controller = new AbortController();
    controller.abort();
    const parts = await collect(
      provider.stream(request([{ role: "user", content: "write" }]), controller.signal),
    );
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({ type: "error", error: { code: "aborted" } });
  });

  test("tool call ids are unique across calls", async () => {
    const ask = () => collect(provider.stream(request([{ role: "user", content: "write" }]), signal()));
    const [a, b] = await Promise.all([ask(), ask()]);
    const id = (parts: StreamPart[]) => (parts[0]?.type === "tool-call" ? parts[0].toolCallId : "");
    expect(id(a)).not.toBe(id(b));
  });

  test("without a script it answers with the default greeting", async () => {
    const parts = await collect(
      createScriptedProvider("s", undefined).stream(request([{ role: "user", content: "hi" }]), signal()),
    );
    expect(texts(parts)).toEqual(["Hello from the scripted provider."]);
  });
});
