import { describe, expect, test } from "bun:test";
import { WorkspaceIndex, type WorkspaceLinks } from "./workspace-index.ts";

interface W extends WorkspaceLinks<W> {
  id: number;
}

const make = (id: number): W => ({ id, wsPrev: undefined, wsNext: undefined, wsLinked: false });

describe("WorkspaceIndex", () => {
  test("lists a workspace's waiters and forgets them one by one, in any order", () => {
    const index = new WorkspaceIndex<W>();
    const [a, b, c] = [make(1), make(2), make(3)];
    for (const w of [a, b, c]) index.add("ws", w);
    index.add("other", make(4));
    expect(
      index
        .waiters("ws")
        .map((w) => w.id)
        .sort(),
    ).toEqual([1, 2, 3]);
    index.delete("ws", b);
    index.delete("ws", b); // a second delete is a no-op
    expect(
      index
        .waiters("ws")
        .map((w) => w.id)
        .sort(),
    ).toEqual([1, 3]);
    index.delete("ws", a);
    index.delete("ws", c);
    expect(index.waiters("ws")).toEqual([]);
    expect(index.waiters("other").map((w) => w.id)).toEqual([4]);
    expect(index.waiters("never")).toEqual([]);
  });

  test("empty buckets are pruned, so memory follows live waiters, not workspaces ever seen", () => {
    const index = new WorkspaceIndex<W>();
    const kept = make(0);
    index.add("kept", kept);
    for (let i = 1; i <= 50_000; i++) {
      const w = make(i);
      index.add(`ws-${i}`, w);
      index.delete(`ws-${i}`, w);
      expect(index.bucketCount).toBeLessThanOrEqual(1_026);
    }
    expect(index.waiters("kept")).toEqual([kept]);
  });
});
