import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  expectGapFree,
  type OrchestratorHost,
  startOrchestratorHost,
  waitForEvent,
} from "./fixtures/orchestrator-host.ts";
import { hangTool } from "./fixtures/test-tools.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "orch-restart-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function host(dataDir: string, defaults?: Record<string, unknown>): Promise<OrchestratorHost> {
  const h = await startOrchestratorHost({ dataDir, ...(defaults ? { defaults } : {}) });
  let stopped = false;
  cleanups.push(async () => {
    if (!stopped) await h.stop();
  });
  return {
    ...h,
    stop: async () => {
      stopped = true;
      await h.stop();
    },
  };
}

describe("shutdown", () => {
  test("a turn running at shutdown is interrupted, with its event, before the store closes", async () => {
    const dataDir = tempDir();
    const first = await host(dataDir);
    const finished: unknown[] = [];
    first.test.host.bus.subscribe("test", "turn.finished", (payload) => void finished.push(payload));
    const conversationId = await first.newConversation();
    const { turnId } = await first.orchestrator.startTurn({ conversationId, text: "slow" });
    await waitForEvent(first.orchestrator, conversationId, (e) => e.type === "text.delta");
    const open = first.orchestrator.subscribe(conversationId, 0);
    await first.stop();
    expect(open.closedReason).toBe("shutdown");
    expect(finished).toEqual([{ turnId, conversationId, workspaceId: "default", status: "interrupted" }]);

    const second = await host(dataDir);
    expect((await second.store.turns.get(turnId))?.status).toBe("interrupted");
    const events = await second.store.events.listAfter(conversationId, 0);
    expect(expectGapFree(events)).toBe(true);
    expect(events.filter((e) => e.type === "turn.interrupted")).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: "turn.interrupted", data: { reason: "host shutting down" } });
    expect(events.some((e) => e.type === "text.delta")).toBe(true);
  });

  test("cancelAll interrupts every active turn, even one stuck in a tool, and then refuses new turns", async () => {
    const h = await host(tempDir(), { shutdownDeadlineMs: 2000 });
    h.orchestrator.tools.register(hangTool);
    const a = await h.newConversation();
    const b = await h.newConversation();
    const ta = await h.orchestrator.startTurn({ conversationId: a, text: "hang" });
    const tb = await h.orchestrator.startTurn({ conversationId: b, text: "slow" });
    await waitForEvent(h.orchestrator, a, (e) => e.type === "tool.call");
    expect(h.orchestrator.getActiveConversationCount()).toBe(2);
    await h.orchestrator.cancelAll(2000);
    expect(h.orchestrator.getActiveConversationCount()).toBe(0);
    expect((await h.store.turns.get(ta.turnId))?.status).toBe("interrupted");
    expect((await h.store.turns.get(tb.turnId))?.status).toBe("interrupted");
    await expect(h.orchestrator.startTurn({ conversationId: a, text: "hello" })).rejects.toMatchObject({
      code: "shutting_down",
    });
    // A subscriber that comes during shutdown still gets the log, the turn's final event last, then the end.
    const late = h.orchestrator.subscribe(a, 0);
    const seen: string[] = [];
    for await (const event of late) seen.push(event.type);
    expect(seen.at(-1)).toBe("turn.interrupted");
    expect(late.closedReason).toBe("shutdown");
    expect(await late.ended).toBe("shutdown");
  });
});

describe("crash recovery at activation", () => {
  test("turns left queued, waiting or running become interrupted with a `host restarted` event", async () => {
    const dataDir = tempDir();
    const first = await host(dataDir);
    const ids: Array<{ conversationId: string; turnId: string }> = [];
    for (const status of ["queued", "waiting", "running"] as const) {
      const conversationId = await first.newConversation();
      const { turn } = await first.store.turns.claim({
        conversationId,
        text: "hi",
        promptStartedAt: Date.now(),
      });
      if (status !== "queued") await first.store.turns.setStatus(turn.id, status);
      await first.store.events.appendMany(conversationId, [
        { type: "turn.started", turnId: turn.id, data: {} },
        { type: "text.delta", turnId: turn.id, data: { text: "partial" } },
      ]);
      await first.store.locks.acquire({
        workspaceId: "default",
        path: `file-${status}.txt`,
        conversationId,
        turnId: turn.id,
        ttlMs: 600_000,
      });
      ids.push({ conversationId, turnId: turn.id });
    }
    // These turns were never the orchestrator's; stopping leaves them as a crash would.
    await first.stop();

    const second = await host(dataDir);
    for (const { conversationId, turnId } of ids) {
      const turn = await second.store.turns.get(turnId);
      expect(turn?.status).toBe("interrupted");
      expect(turn?.error).toBe("host restarted");
      const events = await second.store.events.listAfter(conversationId, 0);
      expect(events.map((e) => [e.seq, e.type])).toEqual([
        [1, "turn.started"],
        [2, "text.delta"],
        [3, "turn.interrupted"],
      ]);
      expect(events[2]?.data).toEqual({ reason: "host restarted" });
    }
    expect(await second.store.locks.list("default")).toEqual([]);
    // The conversation is usable again.
    const next = await second.orchestrator.startTurn({
      conversationId: ids[0]!.conversationId,
      text: "hello",
    });
    const events = await second.untilFinal(ids[0]!.conversationId, next.turnId);
    expect(events.at(-1)?.type).toBe("turn.completed");
  });

  test("a final event stored without its status (a crash between the two) keeps the event's status", async () => {
    const dataDir = tempDir();
    const first = await host(dataDir);
    const conversationId = await first.newConversation();
    const { turn } = await first.store.turns.claim({
      conversationId,
      text: "hi",
      promptStartedAt: Date.now(),
    });
    await first.store.turns.setStatus(turn.id, "running");
    await first.store.events.appendMany(conversationId, [
      { type: "turn.started", turnId: turn.id, data: {} },
      { type: "turn.completed", turnId: turn.id, data: {} },
    ]);
    await first.stop();

    const second = await host(dataDir);
    expect((await second.store.turns.get(turn.id))?.status).toBe("completed");
    const events = await second.store.events.listAfter(conversationId, 0);
    expect(events.map((e) => e.type)).toEqual(["turn.started", "turn.completed"]);
  });
});
