import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DispatchError } from "@dispatch/kernel";
import { startOrchestratorHost } from "./fixtures/orchestrator-host.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Waits until the conversation has `n` turns, all final. */
async function untilTurns(
  h: Awaited<ReturnType<typeof startOrchestratorHost>>,
  conversationId: string,
  n: number,
) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const messages = await h.store.messages.list(conversationId);
    const users = messages.filter((m) => m.role === "user");
    const conversation = await h.store.conversations.get(conversationId);
    if (users.length === n && conversation?.activeTurnId === null) return users;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} turns (have ${users.length})`);
    await Bun.sleep(10);
  }
}

describe("follow-ups", () => {
  test("queued while a turn runs, they run as the next turns, in order; without queue the answer stays 409", async () => {
    const h = await startOrchestratorHost();
    cleanups.push(() => h.stop());
    const id = await h.newConversation();
    const first = await h.orchestrator.queueMessage({ conversationId: id, text: "slow one" });
    expect(first.queued).toBe(false);
    const busy = await h.orchestrator.startTurn({ conversationId: id, text: "hi" }).catch((e) => e);
    expect(DispatchError.isInstance(busy) && busy.code).toBe("conversation_busy");
    const second = await h.orchestrator.queueMessage({ conversationId: id, text: "second" });
    const third = await h.orchestrator.queueMessage({ conversationId: id, text: "third" });
    expect(second.queued && third.queued).toBe(true);
    const users = await untilTurns(h, id, 3);
    expect(users.map((m) => (m.parts[0] as { text: string }).text)).toEqual(["slow one", "second", "third"]);
    // the queued message keeps the id the API answered with
    expect(users[1]?.id).toBe(second.messageId);
    expect(await h.store.followups.peek(id)).toBeUndefined();
  });

  test("follow-ups queued before a restart run after it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "followups-"));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const first = await startOrchestratorHost({ dataDir });
    const id = await first.newConversation();
    await first.orchestrator.queueMessage({ conversationId: id, text: "slow one" });
    await first.orchestrator.queueMessage({ conversationId: id, text: "after restart" });
    // the first turn is interrupted by the stop; the follow-up waits in the store
    await first.stop();
    const second = await startOrchestratorHost({ dataDir });
    cleanups.push(() => second.stop());
    const users = await untilTurns(second, id, 2);
    expect(users.map((m) => (m.parts[0] as { text: string }).text)).toEqual(["slow one", "after restart"]);
  });
});
