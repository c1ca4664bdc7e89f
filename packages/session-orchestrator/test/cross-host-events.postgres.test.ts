import { afterEach, describe, expect, test } from "bun:test";
import { createTestDatabase, type TestDatabase } from "@dispatch/conversation-store/testing";
import type { ConversationEvent } from "@dispatch/wire";
import { expectGapFree, type OrchestratorHost, startOrchestratorHost } from "./fixtures/orchestrator-host.ts";

// DESIGN §17: a subscriber on one host sees a turn that runs on another, in order with no gap
// (replay from the table, live through the store's event feed, de-duplicated by seq).

const hosts: OrchestratorHost[] = [];
const databases: TestDatabase[] = [];
afterEach(async () => {
  for (const host of hosts.splice(0)) await host.stop();
  for (const database of databases.splice(0)) await database.drop();
});

async function twoHosts(): Promise<[OrchestratorHost, OrchestratorHost]> {
  const database = await createTestDatabase();
  databases.push(database);
  const a = await startOrchestratorHost({ config: { store: { url: database.url } } });
  hosts.push(a);
  const b = await startOrchestratorHost({ config: { store: { url: database.url } } });
  hosts.push(b);
  return [a, b];
}

async function collect(
  host: OrchestratorHost,
  conversationId: string,
  afterSeq: number,
  until: (event: ConversationEvent) => boolean,
): Promise<ConversationEvent[]> {
  const subscription = host.orchestrator.subscribe(conversationId, afterSeq);
  const timer = setTimeout(() => subscription.close(), 20_000);
  const events: ConversationEvent[] = [];
  try {
    for await (const event of subscription) {
      events.push(event);
      if (until(event)) return events;
    }
  } finally {
    clearTimeout(timer);
    subscription.close();
  }
  throw new Error(
    `subscription on the other host ended early; saw ${events.map((e) => `${e.seq}:${e.type}`)}`,
  );
}

describe("events across hosts on one Postgres database", () => {
  test("subscribers on host B see host A's turn live, in order, without gap or duplicate", async () => {
    const [a, b] = await twoHosts();
    const conversationId = await a.newConversation();
    const done = (event: ConversationEvent) => event.type === "turn.completed";
    // one subscribed before the turn, one from the middle of it, one resuming after seq 3
    const before = collect(b, conversationId, 0, done);
    const { turnId } = await a.orchestrator.startTurn({ conversationId, text: "slow" });
    const onA = a.untilFinal(conversationId, turnId, 20_000);
    while ((await b.store.events.lastSeq(conversationId)) < 5) await Bun.sleep(10);
    const middle = collect(b, conversationId, 0, done);
    const resumed = collect(b, conversationId, 3, done);
    const [seenBefore, seenMiddle, seenResumed, seenOnA] = await Promise.all([before, middle, resumed, onA]);
    const stored = await a.store.events.listAfter(conversationId, 0);
    expect(seenOnA.at(-1)?.type).toBe("turn.completed");
    // the turn streamed 40 chunks, coalesced into several text.delta events that came over the feed
    expect(stored.filter((e) => e.type === "text.delta").length).toBeGreaterThan(1);
    for (const seen of [seenBefore, seenMiddle]) {
      expect(expectGapFree(seen)).toBe(true);
      expect(seen).toEqual(stored);
    }
    expect(seenResumed).toEqual(stored.slice(3));
    // B's own bus does not carry A's events: those belong to the host that runs the turn
    expect(b.orchestrator.getActiveConversationCount()).toBe(0);
  });

  test("a turn on B that A's client follows: the feed works both ways, and a later turn too", async () => {
    const [a, b] = await twoHosts();
    const conversationId = await a.newConversation();
    const first = collect(a, conversationId, 0, (e) => e.type === "turn.completed");
    await b.orchestrator.startTurn({ conversationId, text: "hello" });
    const seen = await first;
    expect(seen.map((e) => e.type).at(-1)).toBe("turn.completed");
    const after = seen.at(-1)?.seq ?? 0;
    const second = collect(a, conversationId, after, (e) => e.type === "turn.completed");
    // the conversation is idle on every host once its final event is out (status before publish)
    await a.orchestrator.startTurn({ conversationId, text: "again" });
    const more = await second;
    expect(more[0]?.seq).toBe(after + 1);
    expect(expectGapFree([...seen, ...more])).toBe(true);
  });
});
