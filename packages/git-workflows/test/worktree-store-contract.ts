import { afterEach, expect, test } from "bun:test";
import type { HolderInput, NewWorktree } from "../src/worktree-store.ts";
import { type ManualClock, manualClock, type WorktreeHost, worktreeHost } from "./tables.ts";

/** How the suite gets its hosts: one (SQLite) or several on one database (Postgres). */
export interface WorktreeHarness {
  /** Starts `n` hosts on one fresh database. */
  start(n: number, clock: () => number): Promise<WorktreeHost[]>;
  /** Whether this dialect has several hosts (the cluster cases). */
  readonly shared: boolean;
  /** Cleans up after a test (drops its database). */
  cleanup(): Promise<void>;
}

const row = (id: string): NewWorktree => ({
  id,
  workspaceId: "default",
  kind: "task",
  title: "t",
  path: `/tmp/wt/${id}`,
  branch: `dispatch/${id}`,
  baseRef: "HEAD",
  prefix: "",
});
const task = (id: string, attempt: number): HolderInput => ({
  kind: "task",
  id,
  attempt,
  conversationId: `c${attempt}`,
  admitsTurn: true,
});
const turn = (conversationId: string): HolderInput => ({
  kind: "conversation",
  id: conversationId,
  attempt: null,
  conversationId,
  admitsTurn: false,
});

/** WorktreeStore's contract, the same on SQLite and Postgres. */
export function worktreeStoreContract(harness: WorktreeHarness): void {
  let hosts: WorktreeHost[] = [];
  let clock: ManualClock;
  const start = async (n = 1) => {
    clock = manualClock(Date.UTC(2026, 11, 1, 12));
    hosts = await harness.start(n, clock);
    return hosts;
  };
  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.test.stop();
    await harness.cleanup();
  });

  test("rows round-trip with their types (booleans, times, nulls), newest first", async () => {
    const [h] = await start();
    const s = h!.store;
    await s.insert(row("a"));
    clock.now += 1;
    await s.insert(row("b"));
    await s.insert({ ...row("b"), title: "ignored: the first insert stays" });
    const got = await s.get("a");
    expect(got).toMatchObject({
      id: "a",
      state: "new",
      removeRequested: false,
      admitsTurn: false,
      holderToken: null,
      holderSince: null,
      commits: "[]",
      generation: 0,
      pushAttempts: 0,
      lastUsedAt: clock.now - 1,
    });
    expect(typeof got?.lastUsedAt).toBe("number");
    expect((await s.list()).map((r) => r.id)).toEqual(["b", "a"]);
    expect((await s.get("b"))?.title).toBe("t");
    await s.update("a", { removeRequested: true, state: "active" });
    expect(await s.get("a")).toMatchObject({ removeRequested: true, state: "active" });
    expect(await s.counts()).toEqual({ states: { new: 1, active: 1 }, pushes: { none: 2 } });
  });

  test("one hold at a time; only its token releases it; a task's next attempt takes over its earlier attempt's hold", async () => {
    const [h] = await start();
    const s = h!.store;
    await s.insert(row("a"));
    const first = await s.acquire("a", task("a", 1));
    expect(first.ok).toBe(true);
    const second = await s.acquire("a", turn("c9"));
    expect(second.ok).toBe(false);
    if (!second.ok) expect(second.row).toMatchObject({ holderKind: "task", holderAttempt: 1 });
    expect((await s.acquire("a", task("a", 1))).ok).toBe(false);
    expect(await s.release("a", "not-the-token")).toBe(false);
    // attempt 2 starts only after attempt 1 ended: attempt 1's hold is stale
    const next = await s.acquire("a", task("a", 2));
    expect(next.ok).toBe(true);
    if (first.ok) expect(await s.release("a", first.token)).toBe(false);
    expect(await s.admitTurn("a", "c2")).toBe(true);
    expect(await s.admitTurn("a", "c2")).toBe(false);
    expect(await s.releaseAttempt("a", 2)).toBe(true);
    expect((await s.get("a"))?.holderToken).toBeNull();
    await expect(s.acquire("missing", turn("c1"))).rejects.toMatchObject({ code: "not_found" });
  });

  test("bindings, due pushes claimed once, removable rows, deletes cascade", async () => {
    const [h] = await start();
    const s = h!.store;
    await s.insert(row("a"));
    await s.insert(row("b"));
    await s.bind("c1", "a", 1);
    await s.bind("c1", "b", null);
    expect(await s.bindingOf("c1")).toEqual({ worktreeId: "b", attempt: null });
    await s.update("a", { pushStatus: "pending", nextPushAt: clock.now, pushAttempts: 0 });
    const [due] = await s.duePushes(clock.now);
    expect(due?.id).toBe("a");
    expect(await s.claimPush(due!, clock.now + 1000)).toBe(true);
    expect(await s.claimPush(due!, clock.now + 1000)).toBe(false);
    expect(await s.duePushes(clock.now)).toEqual([]);
    expect((await s.duePushes(clock.now + 1000)).map((r) => r.id)).toEqual(["a"]);
    await s.update("b", { state: "active", lastUsedAt: clock.now - 10 });
    expect((await s.removable(clock.now)).map((r) => r.id)).toEqual(["b"]);
    await s.delete("b");
    expect(await s.bindingOf("c1")).toBeUndefined();
    expect((await s.ofWorkspace("default")).map((r) => r.id)).toEqual(["a"]);
  });

  if (!harness.shared) {
    test("clearHolds frees every hold (one host per SQLite database: they were the last process's)", async () => {
      const [h] = await start();
      await h!.store.insert(row("a"));
      await h!.store.insert(row("b"));
      await h!.store.acquire("a", turn("c1"));
      await h!.store.acquire("b", turn("c2"));
      expect(await h!.store.clearHolds()).toBe(2);
      expect((await h!.store.get("a"))?.holderToken).toBeNull();
    });
    return;
  }

  test("two hosts racing for one worktree: exactly one wins each round", async () => {
    const [a, b] = await start(2);
    await a!.store.insert(row("w"));
    for (let round = 0; round < 20; round++) {
      const results = await Promise.all([
        a!.store.acquire("w", turn(`a${round}`)),
        b!.store.acquire("w", turn(`b${round}`)),
        a!.store.acquire("w", turn(`a${round}x`)),
        b!.store.acquire("w", turn(`b${round}x`)),
      ]);
      const won = results.flatMap((r, i) => (r.ok ? [{ i, token: r.token }] : []));
      expect(won).toHaveLength(1);
      const winner = [a, b, a, b][won[0]!.i]!;
      expect((await a!.store.get("w"))?.holderInstance).toBe(winner.conversations.instanceId);
      expect(await winner.store.release("w", won[0]!.token)).toBe(true);
    }
  });

  test("a dead host's holds are freed by instance, and only its own", async () => {
    const [a, b] = await start(2);
    for (const id of ["x", "y", "z"]) await a!.store.insert(row(id));
    await a!.store.acquire("x", turn("c1"));
    await a!.store.acquire("y", task("y", 1));
    const kept = await b!.store.acquire("z", turn("c3"));
    expect(await b!.store.releaseInstance(a!.conversations.instanceId)).toBe(2);
    expect(await b!.store.releaseInstance(a!.conversations.instanceId)).toBe(0);
    expect((await a!.store.get("x"))?.holderToken).toBeNull();
    expect((await a!.store.get("y"))?.holderToken).toBeNull();
    expect((await a!.store.get("z"))?.holderToken).toBe(kept.ok ? kept.token : "?");
  });

  test("two hosts claiming one due push: one pushes", async () => {
    const [a, b] = await start(2);
    await a!.store.insert(row("p"));
    await a!.store.update("p", { pushStatus: "pending", nextPushAt: clock.now, pushAttempts: 0 });
    const [seenA] = await a!.store.duePushes(clock.now);
    const [seenB] = await b!.store.duePushes(clock.now);
    const claims = await Promise.all([
      a!.store.claimPush(seenA!, clock.now + 5000),
      b!.store.claimPush(seenB!, clock.now + 5000),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(1);
  });
}

/** The SQLite harness: one host on a temp file. */
export const sqliteHarness: WorktreeHarness = {
  shared: false,
  start: async (_n, clock) => [await worktreeHost(clock)],
  cleanup: async () => {},
};
