import { expect, test } from "bun:test";
import { Transcript, type TranscriptEvent } from "../web/model/transcript.ts";

let seq = 0;
const event = (
  type: string,
  data: Record<string, unknown> = {},
  turnId: string | null = "t1",
): TranscriptEvent => ({
  seq: ++seq,
  type,
  turnId,
  data,
});

test("a turn's text, tool call and result, and final state, in order", () => {
  seq = 0;
  const t = new Transcript();
  t.setMessages([{ role: "user", turnId: "t1", parts: [{ type: "text", text: "hi" }] }]);
  t.apply(event("turn.started"));
  t.apply(event("turn.waiting", { reason: "slot" }));
  expect(t.activeTurn?.state).toBe("waiting");
  expect(t.activeTurn?.note).toBe("waiting for a provider slot");
  t.apply(event("step.started", { step: 1 }));
  t.apply(event("text.delta", { text: "Hel" }));
  t.apply(event("text.delta", { text: "lo" }));
  t.apply(event("tool.call", { toolCallId: "c1", toolName: "read_file", input: { path: "a" } }));
  t.apply(
    event("tool.result", {
      toolCallId: "c1",
      toolName: "read_file",
      output: "x",
      isError: false,
      truncated: true,
    }),
  );
  t.apply(event("text.delta", { text: "Done." }));
  t.apply(event("turn.completed", { usage: {} }));
  const [turn] = t.turns;
  expect(turn).toEqual({
    turnId: "t1",
    userText: "hi",
    state: "completed",
    note: null,
    items: [
      { kind: "text", text: "Hello" },
      {
        kind: "tool",
        toolCallId: "c1",
        toolName: "read_file",
        input: '{\n  "path": "a"\n}',
        output: "x",
        isError: false,
        truncated: true,
      },
      { kind: "text", text: "Done." },
    ],
  });
  expect(t.activeTurn).toBeUndefined();
  expect(t.lastSeq).toBe(9);
});

test("events at or before the last seq are ignored: a replay after a reconnect shows nothing twice", () => {
  seq = 0;
  const t = new Transcript();
  const events = [
    event("turn.started"),
    event("text.delta", { text: "a" }),
    event("text.delta", { text: "b" }),
  ];
  for (const e of events) expect(t.apply(e)).toBe(true);
  const version = t.version;
  // The browser resumed from seq 2 and the server sent 2 and 3 again, then 4.
  expect(t.apply(events[1]!)).toBe(false);
  expect(t.apply(events[2]!)).toBe(false);
  expect(t.version).toBe(version);
  t.apply(event("text.delta", { text: "c" }));
  expect(t.turns[0]?.items).toEqual([{ kind: "text", text: "abc" }]);
});

test("a user text learnt after the turn started fills in; failures and cancels keep their reason", () => {
  seq = 0;
  const t = new Transcript();
  t.apply(event("turn.started"));
  expect(t.missingUserText).toBe(true);
  t.setMessages([
    { role: "user", turnId: "t1", parts: [{ type: "text", text: "one" }] },
    { role: "assistant", turnId: "t1", parts: [{ type: "text", text: "ignored" }] },
  ]);
  expect(t.turns[0]?.userText).toBe("one");
  expect(t.missingUserText).toBe(false);
  t.apply(event("turn.failed", { error: "provider said no" }));
  t.apply(event("turn.started", {}, "t2"));
  t.apply(event("turn.waiting", { reason: "retry", retryInMs: 1500 }, "t2"));
  expect(t.turns[1]?.note).toBe("provider busy; retrying in 2 s");
  t.apply(event("turn.cancelled", { reason: "cancelled by the user" }, "t2"));
  expect(t.turns.map((x) => [x.state, x.note])).toEqual([
    ["failed", "provider said no"],
    ["cancelled", "cancelled by the user"],
  ]);
});

test("an invalid tool call is shown with its error; events of no turn only move the seq", () => {
  seq = 0;
  const t = new Transcript();
  t.apply(event("tool.call", { toolCallId: "c", toolName: "bash", input: "{bad", error: "not JSON" }));
  expect(t.turns[0]?.items[0]).toEqual({
    kind: "tool",
    toolCallId: "c",
    toolName: "bash",
    input: "{bad",
    invalid: "not JSON",
  });
  expect(t.apply(event("context.compacted", {}, null))).toBe(true);
  expect(t.turns).toHaveLength(1);
  expect(t.lastSeq).toBe(2);
});

test("a CLI agent's screen is the last one seen; its start, crash and respawn are notes of the turn", () => {
  seq = 0;
  const t = new Transcript();
  t.apply(event("turn.started"));
  t.apply(event("agent.started", { agentId: "fake", session: "s", pid: 1 }));
  t.apply(event("screen.updated", { screen: "> hi", cols: 80, rows: 24, cursor: { x: 0, y: 0 } }));
  t.apply(
    event("agent.crashed", {
      agentId: "fake",
      attempt: 1,
      maxAttempts: 2,
      reason: "FATAL",
      screen: "FATAL: boom",
    }),
  );
  expect(t.screen).toBe("FATAL: boom");
  t.apply(event("agent.respawned", { agentId: "fake", attempt: 1, pid: 2 }));
  t.apply(event("screen.updated", { screen: "> again", cols: 80, rows: 24, cursor: { x: 0, y: 0 } }));
  expect(t.screen).toBe("> again");
  expect(t.turns[0]?.items).toEqual([
    { kind: "note", text: "CLI agent fake started" },
    { kind: "note", text: "CLI agent crashed (FATAL), attempt 1 of 2" },
    { kind: "note", text: "CLI agent respawned" },
  ]);
});
