import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GroupCommit, type Transact } from "./group-commit.ts";
import { openConversationStore } from "./open-conversation-store.ts";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A transact that logs where each transaction begins and ends, and can fail its COMMIT. */
function loggingTransact(log: string[], failCommit = () => false): Transact {
  let n = 0;
  return async (fn) => {
    const id = ++n;
    log.push(`begin ${id}`);
    const result = await fn();
    if (failCommit()) throw new Error(`COMMIT ${id} failed`);
    log.push(`commit ${id}`);
    return result;
  };
}

describe("GroupCommit", () => {
  test("the calls of one loop turn run in one transaction, in call order, and resolve after its commit", async () => {
    const log: string[] = [];
    const group = new GroupCommit(loggingTransact(log));
    const calls = [1, 2, 3].map((n) =>
      group.join(async () => {
        log.push(`call ${n}`);
        return n * 10;
      }),
    );
    expect(log).toEqual([]);
    const results = await Promise.all(
      calls.map(async (call) => {
        const value = await call;
        log.push(`done ${value}`);
        return value;
      }),
    );
    expect(results).toEqual([10, 20, 30]);
    expect(log).toEqual([
      "begin 1",
      "call 1",
      "call 2",
      "call 3",
      "commit 1",
      "done 10",
      "done 20",
      "done 30",
    ]);
  });

  test("a call that throws rejects alone; the rest of its group commits", async () => {
    const log: string[] = [];
    const group = new GroupCommit(loggingTransact(log));
    const outcomes = await Promise.allSettled([
      group.join(() => "a"),
      group.join(() => {
        throw new Error("refused");
      }),
      group.join(() => "c"),
    ]);
    expect(outcomes.map((o) => (o.status === "fulfilled" ? o.value : String(o.reason)))).toEqual([
      "a",
      "Error: refused",
      "c",
    ]);
    expect(log).toEqual(["begin 1", "commit 1"]);
  });

  test("a failed COMMIT rejects every call of its group; the next group still runs", async () => {
    const log: string[] = [];
    let fail = true;
    const group = new GroupCommit(loggingTransact(log, () => fail));
    const first = await Promise.allSettled([group.join(() => 1), group.join(() => 2)]);
    expect(first.map((o) => o.status === "rejected" && String(o.reason))).toEqual([
      "Error: COMMIT 1 failed",
      "Error: COMMIT 1 failed",
    ]);
    fail = false;
    expect(await group.join(() => 3)).toBe(3);
    expect(log).toEqual(["begin 1", "begin 2", "commit 2"]);
  });

  test("a call made while a group commits goes in the next group, which commits after it", async () => {
    const log: string[] = [];
    const group = new GroupCommit(loggingTransact(log));
    let later: Promise<unknown> = Promise.resolve();
    const first = group.join(async () => {
      log.push("call 1");
      later = group.join(() => void log.push("call 2"));
      await Bun.sleep(5);
    });
    await first;
    await later;
    expect(log).toEqual(["begin 1", "call 1", "commit 1", "begin 2", "call 2", "commit 2"]);
  });

  test("a lone atomic call runs without a transaction; atomic calls together share one", async () => {
    const log: string[] = [];
    const group = new GroupCommit(loggingTransact(log));
    await group.join(() => void log.push("alone"), { atomic: true });
    await Promise.all([
      group.join(() => void log.push("a"), { atomic: true }),
      group.join(() => void log.push("b"), { atomic: true }),
    ]);
    expect(log).toEqual(["alone", "begin 1", "a", "b", "commit 1"]);
  });

  test("a call made inside a store transaction runs after it, in a transaction of the group's own", async () => {
    const dir = mkdtempSync(join(tmpdir(), "store-group-"));
    const store = openConversationStore({ path: join(dir, "store.db") });
    cleanups.push(() => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    let grouped: Promise<string> | undefined;
    const id = await store.transaction(async () => {
      const conversation = await store.conversations.create({
        workspaceId: "default",
        provider: "p",
        model: "m",
      });
      // not awaited: the group must neither join this transaction nor be refused as nested
      grouped = store.grouped(
        async () => (await store.conversations.get(conversation.id))?.title ?? "untitled",
      );
      await Bun.sleep(5);
      return conversation.id;
    });
    expect(await grouped).toBe("untitled");
    expect(await store.conversations.get(id)).toBeDefined();
  });
});
