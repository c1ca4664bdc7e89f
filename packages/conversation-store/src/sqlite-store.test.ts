import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { finalTurnStatuses, TurnStatus } from "@dispatch/wire";
import { cleanupAll, rejectionOf, tempStore } from "../test/fixtures/temp-store.ts";
import { unfinishedStatusesSql } from "./schema.ts";
import { isFinal, unfinishedStatuses } from "./turn-status.ts";

// What only the SQLite store does, or what is checked through a second SQLite connection; the
// repository contract both dialects keep is in test/contract/ (run by test/store-contract*.test.ts).

afterEach(cleanupAll);

async function withConversation(options: Parameters<typeof tempStore>[0] = {}) {
  const temp = tempStore(options);
  const conv = await temp.store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
  return { ...temp, conv };
}

describe("workspaces on SQLite", () => {
  test("events are published after commit: a subscriber already sees the row from another connection", async () => {
    let reader: Database | undefined;
    const seen: Array<[string, boolean]> = [];
    const temp = tempStore({
      bus: {
        publish(event) {
          if (!reader) return;
          seen.push([event, reader.query("SELECT 1 FROM workspaces WHERE id = 'proj'").get() !== null]);
        },
      },
    });
    reader = new Database(temp.path, { readonly: true });
    try {
      await temp.store.workspaces.create({ id: "proj", root: "/p" });
    } finally {
      reader.close();
    }
    expect(seen).toEqual([["workspace.created", true]]);
  });

  test("a write that rolls back publishes nothing", async () => {
    const temp = tempStore();
    await temp.store.workspaces.create({ id: "proj", root: "/p" });
    temp.published.length = 0;
    // Another process (here: a second connection) installs a trigger that makes the update fail.
    const other = new Database(temp.path);
    other.run(
      "CREATE TRIGGER refuse_star BEFORE UPDATE OF starred ON workspaces BEGIN SELECT RAISE(ABORT, 'refused'); END",
    );
    other.close();
    const error = await rejectionOf(temp.store.workspaces.star("proj"));
    expect(error.message).toContain("refused");
    expect((await temp.store.workspaces.get("proj"))?.starred).toBe(false);
    expect(temp.published).toEqual([]);
  });

  test("list() answers from its cache only while nothing changed, in this process or another (from the next turn)", async () => {
    const temp = tempStore();
    const { store } = temp;
    await store.workspaces.create({ id: "b", name: "Bee", root: "/b" });
    expect((await store.workspaces.list()).map((w) => w.id)).toEqual(["b", "default"]);
    await store.workspaces.star("default");
    expect((await store.workspaces.list()).map((w) => w.id)).toEqual(["default", "b"]);
    // A write by another connection (another process) is seen too.
    const other = new Database(temp.path);
    try {
      other.run("UPDATE workspaces SET name = 'Aardvark' WHERE id = 'b'");
    } finally {
      other.close();
    }
    // Another process's commit reaches this one as an event, so in a later event-loop turn.
    await new Promise((resolve) => setImmediate(resolve));
    const names = (await store.workspaces.list()).map((w) => w.name);
    expect(names).toEqual(["Default", "Aardvark"]);
  });
});

describe("turns on SQLite", () => {
  test("the database refuses a second unfinished turn even when the check is bypassed", async () => {
    const { store, conv, path } = await withConversation();
    const { turn } = await store.turns.claim({ conversationId: conv.id, text: "a", promptStartedAt: 1 });
    const other = new Database(path);
    try {
      other.run("PRAGMA busy_timeout = 1000");
      expect(() =>
        other.run(
          "INSERT INTO turns (id, conversation_id, status, prompt_started_at, created_at, updated_at) VALUES ('t_x', ?, 'running', 1, 1, 1)",
          [conv.id],
        ),
      ).toThrow(/UNIQUE/);
      expect(() => other.run("UPDATE turns SET status = 'bogus' WHERE id = ?", [turn.id])).toThrow(/CHECK/);
    } finally {
      other.close();
    }
  });
});

test("the unfinished statuses agree with the schema's partial index and with the wire's final statuses", () => {
  expect(
    unfinishedStatusesSql.queryChunks.map((c) => (c as { value: string[] }).value.join("")).join(""),
  ).toBe(`(${unfinishedStatuses.map((s) => `'${s}'`).join(", ")})`);
  expect([...unfinishedStatuses, ...finalTurnStatuses].sort()).toEqual([...TurnStatus.options].sort());
  expect(TurnStatus.options.filter(isFinal)).toEqual([...finalTurnStatuses]);
});

describe("message history on SQLite", () => {
  const text = (value: string) => [{ type: "text" as const, text: value }];

  test("a history read again is the whole history: what this process, another process and a rollback changed", async () => {
    const { store, conv, path } = await withConversation();
    const { turn } = await store.turns.claim({ conversationId: conv.id, text: "one", promptStartedAt: 1 });
    const texts = async () =>
      (await store.messages.list(conv.id)).map((m) => (m.parts[0] as { text: string }).text);
    expect(await texts()).toEqual(["one"]);
    await store.messages.append({
      conversationId: conv.id,
      turnId: turn.id,
      role: "assistant",
      parts: text("two"),
    });
    expect(await texts()).toEqual(["one", "two"]);
    // another process's row, seen from the next event-loop turn
    const other = new Database(path);
    try {
      other.run(
        "INSERT INTO messages (id, conversation_id, turn_id, role, parts, created_at) VALUES ('m_other', ?, ?, 'assistant', ?, ?)",
        [conv.id, turn.id, JSON.stringify(text("three")), Date.now()],
      );
    } finally {
      other.close();
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(await texts()).toEqual(["one", "two", "three"]);
    // a message read inside a transaction that then rolls back is not served afterwards
    const failure = await rejectionOf(
      store.transaction(async () => {
        await store.messages.append({
          conversationId: conv.id,
          turnId: turn.id,
          role: "assistant",
          parts: text("x"),
        });
        expect((await texts()).at(-1)).toBe("x");
        throw new Error("roll it back");
      }),
    );
    expect(failure.message).toBe("roll it back");
    expect(await texts()).toEqual(["one", "two", "three"]);
  });

  test("a message stored with an older clock than the last one read still lands in order", async () => {
    let now = 10_000;
    const { store, conv } = await withConversation({ clock: () => now });
    const { turn } = await store.turns.claim({ conversationId: conv.id, text: "late", promptStartedAt: 1 });
    expect((await store.messages.list(conv.id)).length).toBe(1);
    now = 5_000;
    await store.messages.append({
      conversationId: conv.id,
      turnId: turn.id,
      role: "assistant",
      parts: text("early"),
    });
    const listed = await store.messages.list(conv.id);
    expect(listed.map((m) => (m.parts[0] as { text: string }).text)).toEqual(["early", "late"]);
  });

  test("listed messages are frozen, so no reader can change what the next one is served", async () => {
    const { store, conv } = await withConversation();
    await store.turns.claim({ conversationId: conv.id, text: "kept", promptStartedAt: 1 });
    const [message] = await store.messages.list(conv.id);
    const part = message?.parts[0] as { text: string };
    expect(() => {
      part.text = "changed";
    }).toThrow(TypeError);
    expect((await store.messages.list(conv.id))[0]?.parts).toEqual(text("kept"));
  });
});
