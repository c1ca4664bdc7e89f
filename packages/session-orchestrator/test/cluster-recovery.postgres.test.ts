import { afterEach, describe, expect, test } from "bun:test";
import { createTestDatabase, type TestDatabase } from "@dispatch/conversation-store/testing";
import { type OrchestratorHost, startOrchestratorHost } from "./fixtures/orchestrator-host.ts";

// DESIGN §17: when a host dies, a survivor marks its turns interrupted (with the event clients
// see), each exactly once however many survivors try.

const hosts: OrchestratorHost[] = [];
const databases: TestDatabase[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
  for (const database of databases.splice(0)) await database.drop();
});

async function onOneDatabase(count: number): Promise<OrchestratorHost[]> {
  const database = await createTestDatabase();
  databases.push(database);
  const made: OrchestratorHost[] = [];
  for (let i = 0; i < count; i++) {
    const host = await startOrchestratorHost({ config: { store: { url: database.url } } });
    hosts.push(host);
    made.push(host);
  }
  return made;
}

describe("recovering a dead host's turns", () => {
  test("survivors adopt the dead host's unfinished turns once and close them as interrupted", async () => {
    const [dead, b, c] = (await onOneDatabase(3)) as [OrchestratorHost, OrchestratorHost, OrchestratorHost];
    // the dead host claimed two turns and got one running, then vanished (no orchestrator of its
    // own closes them: its store is used directly, as if the process were gone)
    const conversations = [await dead.newConversation(), await dead.newConversation()];
    const claimed = [];
    for (const conversationId of conversations) {
      claimed.push(
        (await dead.store.turns.claim({ conversationId, text: "x", promptStartedAt: Date.now() })).turn,
      );
    }
    await dead.store.turns.setStatus(claimed[0]?.id as string, "running");
    // a turn of a live host is left alone
    const live = await b.newConversation();
    const { turnId: liveTurn } = await b.orchestrator.startTurn({ conversationId: live, text: "sleep" });
    const [byB, byC] = await Promise.all([
      b.orchestrator.recoverInstance(dead.store.instanceId),
      c.orchestrator.recoverInstance(dead.store.instanceId),
    ]);
    expect(byB + byC).toBe(2);
    for (const turn of claimed) {
      expect((await b.store.turns.get(turn.id))?.status).toBe("interrupted");
      const events = await b.store.events.listAfter(turn.conversationId, 0);
      expect(events.filter((e) => e.type === "turn.interrupted")).toHaveLength(1);
    }
    expect(await b.orchestrator.recoverInstance(dead.store.instanceId)).toBe(0);
    expect((await b.store.turns.get(liveTurn))?.status).not.toBe("interrupted");
    await b.orchestrator.cancelTurn(live);
  });
});
