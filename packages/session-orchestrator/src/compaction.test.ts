import { describe, expect, test } from "bun:test";
import type { ModelMessage } from "@dispatch/providers";
import { planCut } from "./compaction.ts";
import { PromptView } from "./prompt-view.ts";
import { TokenMeter } from "./token-meter.ts";

const user = (text: string): ModelMessage => ({ role: "user", content: text });
const assistant = (text: string): ModelMessage => ({ role: "assistant", parts: [{ type: "text", text }] });
const call = (id: string): ModelMessage => ({
  role: "assistant",
  parts: [{ type: "tool-call", toolCallId: id, toolName: "read_file", input: { path: id } }],
});
const result = (id: string, output: string): ModelMessage => ({
  role: "tool",
  results: [{ toolCallId: id, toolName: "read_file", output, isError: false }],
});
const view = (messages: ModelMessage[]) => new PromptView({ model: "m", system: "sys", messages, tools: [] });

describe("planCut", () => {
  test("keeps the newest messages that fit and cuts at a user message", () => {
    const v = view([
      user("a".repeat(400)),
      assistant("b".repeat(400)),
      user("c".repeat(400)),
      assistant("d"),
      user("e"),
    ]);
    const plan = planCut(v, new TokenMeter(), 150);
    expect(plan).toEqual({ cut: { through: 2, shown: [] }, older: [0, 1] });
  });

  test("inside the turn it cuts at an assistant message and keeps the turn's user message", () => {
    const big = "x".repeat(2000);
    const v = view([
      user("task"),
      call("1"),
      result("1", big),
      call("2"),
      result("2", big),
      call("3"),
      result("3", "small"),
    ]);
    const plan = planCut(v, new TokenMeter(), 200);
    // the only user message is the turn's own, so the cut is at the newest call that leaves the rest small
    expect(plan).toEqual({ cut: { through: 5, shown: [0] }, older: [1, 2, 3, 4] });
    const request = v.request({ ...(plan?.cut ?? { through: 0, shown: [] }), summary: "did 1 and 2" });
    expect(request.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
    expect(request.system).toContain("did 1 and 2");
  });

  test("never starts the kept messages with a tool result, and takes the newest cut when nothing fits", () => {
    const big = "y".repeat(5000);
    const v = view([user("u1"), call("1"), result("1", big), user("u2"), call("2"), result("2", big)]);
    const plan = planCut(v, new TokenMeter(), 10);
    expect(plan?.cut).toEqual({ through: 4, shown: [3] });
    expect(plan?.older).toEqual([0, 1, 2]);
  });

  test("nothing to cut when the turn's message is all there is", () => {
    expect(planCut(view([user("z".repeat(10_000))]), new TokenMeter(), 10)).toBeUndefined();
  });

  test("a second cut also summarises what the first one kept, except the current turn's message", () => {
    const v = view([
      user("u1"),
      assistant("a1"),
      user("u2"),
      assistant("a2"),
      user("u3"),
      assistant("a3"),
      user("u4"),
    ]);
    v.apply({ through: 2, shown: [], summary: "s1" });
    const plan = planCut(v, new TokenMeter(), 1);
    expect(plan?.cut).toEqual({ through: 6, shown: [] });
    expect(plan?.older).toEqual([2, 3, 4, 5]);
  });
});
