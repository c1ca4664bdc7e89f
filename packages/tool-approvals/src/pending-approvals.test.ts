import { describe, expect, test } from "bun:test";
import { PendingApprovals } from "./pending-approvals.ts";

const call = (toolCallId: string) => ({
  conversationId: "c",
  toolCallId,
  workspaceId: "ws",
  toolName: "bash",
  subject: "ls",
});

describe("PendingApprovals", () => {
  test("an answer ends the wait once; a second answer finds nothing", async () => {
    const pending = new PendingApprovals();
    const { ended } = pending.wait(call("1"), 60_000, new AbortController().signal);
    expect(pending.size).toBe(1);
    expect(pending.answer("c", "1", "allow")).toBe(true);
    expect(await ended).toEqual({ decision: "allow", by: "person" });
    expect(pending.answer("c", "1", "deny")).toBe(false);
    expect(pending.size).toBe(0);
    pending.close();
  });

  test("no answer: a deny at the deadline, each at its own, from one timer", async () => {
    const pending = new PendingApprovals();
    const signal = new AbortController().signal;
    const late = pending.wait(call("late"), 400, signal);
    const early = pending.wait(call("early"), 50, signal);
    expect(await early.ended).toEqual({ decision: "deny", by: "timeout" });
    expect(pending.size).toBe(1);
    expect(await late.ended).toEqual({ decision: "deny", by: "timeout" });
    expect(pending.size).toBe(0);
    pending.close();
  });

  test("the turn's abort ends the wait as a deny with the reason", async () => {
    const pending = new PendingApprovals();
    const controller = new AbortController();
    const { ended } = pending.wait(call("1"), 60_000, controller.signal);
    controller.abort(new Error("the turn was cancelled"));
    expect(await ended).toEqual({ decision: "deny", by: "turn-ended", reason: "the turn was cancelled" });
    expect(pending.size).toBe(0);
    pending.close();
  });

  test("after close new waits end at once; waiting ones still end with their turn", async () => {
    const pending = new PendingApprovals();
    const controller = new AbortController();
    const waiting = pending.wait(call("1"), 60_000, controller.signal);
    pending.close();
    const refused = pending.wait(call("2"), 60_000, new AbortController().signal);
    expect(await refused.ended).toMatchObject({ decision: "deny", reason: "the host is shutting down" });
    controller.abort(new Error("host shutting down"));
    expect(await waiting.ended).toMatchObject({ decision: "deny", by: "turn-ended" });
  });
});
