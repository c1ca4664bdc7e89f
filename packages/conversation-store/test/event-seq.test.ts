import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { cleanupAll, tempStore } from "./fixtures/temp-store.ts";

// The event log remembers each conversation's last seq between appends (it saves a read per append).
// These are the ways what it remembers can go stale; each must be noticed.

afterEach(cleanupAll);

const delta = (text: string) => ({ type: "text.delta", turnId: null, data: { text } });

async function seqs(temp: ReturnType<typeof tempStore>, conversationId: string): Promise<number[]> {
  return (await temp.store.events.listAfter(conversationId, 0, 100)).map((e) => e.seq);
}

test("an append after another connection's append continues after it", async () => {
  const temp = tempStore();
  const conv = await temp.store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
  await temp.store.events.append(conv.id, delta("a"));
  const other = new Database(temp.path);
  try {
    other
      .query(
        "INSERT INTO events (conversation_id, seq, type, turn_id, at, data) VALUES (?, 2, 'x', NULL, 0, '{}')",
      )
      .run(conv.id);
  } finally {
    other.close();
  }
  expect((await temp.store.events.append(conv.id, delta("b"))).seq).toBe(3);
  expect(await seqs(temp, conv.id)).toEqual([1, 2, 3]);
});

test("an append after a rolled-back one reuses its seq: no gap", async () => {
  const temp = tempStore();
  const conv = await temp.store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
  await temp.store.events.append(conv.id, delta("a"));
  const undone = temp.store.transaction(async () => {
    expect((await temp.store.events.append(conv.id, delta("undone"))).seq).toBe(2);
    throw new Error("roll it back");
  });
  await expect(undone).rejects.toThrow("roll it back");
  expect((await temp.store.events.append(conv.id, delta("b"))).seq).toBe(2);
  expect(await seqs(temp, conv.id)).toEqual([1, 2]);
});

test("inside a transaction, a failed one-event append changes nothing and the next one follows the last", async () => {
  const temp = tempStore();
  const conv = await temp.store.conversations.create({ workspaceId: "default", provider: "p", model: "m" });
  await temp.store.transaction(async () => {
    await temp.store.events.append(conv.id, delta("a"));
    // a conversation that does not exist fails on its foreign key, without a savepoint to undo
    await expect(temp.store.events.append("c_missing", delta("x"))).rejects.toMatchObject({
      code: "not_found",
    });
    expect((await temp.store.events.appendMany(conv.id, [delta("b"), delta("c")])).map((e) => e.seq)).toEqual(
      [2, 3],
    );
    expect((await temp.store.events.append(conv.id, delta("d"))).seq).toBe(4);
  });
  expect(await seqs(temp, conv.id)).toEqual([1, 2, 3, 4]);
  expect(temp.peek<{ n: number }>("SELECT count(*) AS n FROM events")[0]?.n).toBe(4);
});
