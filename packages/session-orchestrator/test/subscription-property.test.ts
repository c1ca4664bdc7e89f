import { afterAll, beforeAll, expect, test } from "bun:test";
import type { ConversationEvent } from "@dispatch/wire";
import fc from "fast-check";
import type { EventSubscription } from "../src/types.ts";
import {
  type OrchestratorHost,
  startOrchestratorHost,
  testScript,
  waitFor,
} from "./fixtures/orchestrator-host.ts";
import { echoTool } from "./fixtures/test-tools.ts";

let h: OrchestratorHost;

beforeAll(async () => {
  const script = {
    replies: [
      {
        when: "^prop-tool",
        steps: [
          { tool: "echo", input: { text: "x" } },
          { text: "abcde", chunks: 5, delayMs: 1 },
        ],
      },
      { when: "^prop", steps: [{ text: "0123456789".repeat(2), chunks: 20, delayMs: 2 }] },
      ...testScript.replies,
    ],
    fallback: testScript.fallback,
  };
  h = await startOrchestratorHost({
    maxConcurrent: 2,
    script,
    defaults: { coalesceMs: 1, coalesceBytes: 3 },
  });
  h.orchestrator.tools.register(echoTool);
});
afterAll(async () => {
  await h.stop();
});

const conversationCount = 3;
const start = fc.record({
  kind: fc.constant("start" as const),
  c: fc.nat(conversationCount - 1),
  text: fc.constantFrom("prop", "prop-tool", "hello"),
});
const cancel = fc.record({ kind: fc.constant("cancel" as const), c: fc.nat(conversationCount - 1) });
const subscribe = fc.record({
  kind: fc.constant("subscribe" as const),
  c: fc.nat(conversationCount - 1),
  from: fc.double({ min: 0, max: 1, noNaN: true }),
  slow: fc.boolean(),
});
const pause = fc.record({ kind: fc.constant("pause" as const), ms: fc.nat(12) });
/** Starts a slow turn and subscribes once its first event is stored: a subscription across the seam. */
const join = fc.record({
  kind: fc.constant("join" as const),
  c: fc.nat(conversationCount - 1),
  from: fc.double({ min: 0, max: 1, noNaN: true }),
  slow: fc.boolean(),
});
const op = fc.oneof(
  { arbitrary: start, weight: 3 },
  { arbitrary: cancel, weight: 1 },
  { arbitrary: subscribe, weight: 3 },
  { arbitrary: pause, weight: 3 },
  { arbitrary: join, weight: 1 },
);

interface Reader {
  conversationId: string;
  afterSeq: number;
  /** The log's last seq when the subscription was made: the replay/live seam. */
  seam: number;
  seqs: number[];
  subscription: EventSubscription;
  done: Promise<void>;
}

function read(conversationId: string, afterSeq: number, seam: number, slow: boolean): Reader {
  const subscription = h.orchestrator.subscribe(conversationId, afterSeq);
  const seqs: number[] = [];
  const done = (async () => {
    for await (const event of subscription as AsyncIterable<ConversationEvent>) {
      seqs.push(event.seq);
      if (slow) await Bun.sleep(1);
    }
  })();
  return { conversationId, afterSeq, seam, seqs, subscription, done };
}

// Tallies across runs, so the test cannot pass without exercising the seam.
const seen = { readers: 0, crossedSeam: 0, events: 0 };

test("every subscriber sees seq afterSeq+1..N exactly once, in order, under random starts, cancels and subscriptions", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
      const conversations = await Promise.all(
        Array.from({ length: conversationCount }, () => h.newConversation()),
      );
      const readers: Reader[] = [];
      const background: Promise<unknown>[] = [];
      for (const o of ops) {
        if (o.kind === "start") {
          const conversationId = conversations[o.c] as string;
          background.push(h.orchestrator.startTurn({ conversationId, text: o.text }).catch(() => undefined));
        } else if (o.kind === "cancel") {
          background.push(h.orchestrator.cancelTurn(conversations[o.c] as string));
        } else if (o.kind === "subscribe") {
          const conversationId = conversations[o.c] as string;
          const last = await h.store.events.lastSeq(conversationId);
          readers.push(read(conversationId, Math.floor(o.from * last), last, o.slow));
        } else if (o.kind === "join") {
          const conversationId = conversations[o.c] as string;
          const before = await h.store.events.lastSeq(conversationId);
          await h.orchestrator.startTurn({ conversationId, text: "prop" }).catch(() => undefined);
          await waitFor(async () => (await h.store.events.lastSeq(conversationId)) > before, 2000).catch(
            () => {},
          );
          const last = await h.store.events.lastSeq(conversationId);
          readers.push(read(conversationId, Math.floor(o.from * last), last, o.slow));
        } else if (o.ms > 0) await Bun.sleep(o.ms);
      }
      await Promise.all(background);
      await waitFor(() => h.orchestrator.getActiveConversationCount() === 0);
      for (const reader of readers) {
        const last = await h.store.events.lastSeq(reader.conversationId);
        await waitFor(() => (reader.seqs.at(-1) ?? reader.afterSeq) >= last);
        reader.subscription.close();
        await reader.done;
        expect(reader.subscription.closedReason).toBeUndefined();
        const expected = Array.from({ length: last - reader.afterSeq }, (_, i) => reader.afterSeq + 1 + i);
        expect(reader.seqs).toEqual(expected);
        seen.readers += 1;
        seen.events += reader.seqs.length;
        if (reader.afterSeq < reader.seam && last > reader.seam) seen.crossedSeam += 1;
      }
      for (const conversationId of conversations) {
        const events = await h.store.events.listAfter(conversationId, 0, 10_000);
        expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
        const byTurn = Map.groupBy(events, (e) => e.turnId);
        for (const turnEvents of byTurn.values()) {
          const finals = turnEvents.filter((e) =>
            /^turn\.(completed|failed|cancelled|interrupted)$/.test(e.type),
          );
          expect(finals).toHaveLength(1);
          expect(turnEvents.at(-1)).toBe(finals[0]);
        }
      }
      expect(h.orchestrator.stats.liveListeners).toBe(0);
    }),
    { numRuns: 100 },
  );
  expect(seen.readers).toBeGreaterThan(100);
  expect(seen.crossedSeam).toBeGreaterThan(10);
  expect(seen.events).toBeGreaterThan(1000);
}, 60_000);
