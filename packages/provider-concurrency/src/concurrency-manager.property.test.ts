import { expect, test } from "bun:test";
import fc from "fast-check";
import { FakeClock, settle } from "../test/fake-clock.ts";
import { createConcurrencyManager } from "./concurrency-manager.ts";
import type { GrantEvent } from "./manager-options.ts";
import type { Lease } from "./types.ts";

const providers = ["a", "b"] as const;
const workspaces = ["w0", "w1", "w2", "w3"] as const;
const agingMs = 1_000;

const command = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("acquire" as const),
      provider: fc.constantFrom(...providers),
      workspace: fc.constantFrom(...workspaces),
      age: fc.integer({ min: 0, max: 2_000 }),
      withSignal: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("release" as const), pick: fc.nat(), twice: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("abort" as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom("star" as const, "unstar" as const, "forget" as const),
      workspace: fc.constantFrom(...workspaces),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("limit" as const),
      provider: fc.constantFrom(...providers),
      n: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 1_500 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("pause" as const),
      provider: fc.constantFrom(...providers),
      ms: fc.integer({ min: 1, max: 2_000 }),
    }),
  },
);
type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;

interface Waiting {
  turnId: string;
  provider: string;
  workspace: string;
  promptStartedAt: number;
  arrival: number;
  controller: AbortController | undefined;
}

test("random schedules keep the limit, the grant order, FIFO per class, and leave no lease (property)", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 150, size: "max" }), async (commands) => {
      const clock = new FakeClock();
      const limits = new Map<string, number>(providers.map((p) => [p, 1]));
      const held = new Map<string, number>(providers.map((p) => [p, 0]));
      const starred = new Set<string>();
      const waiting = new Map<string, Waiting>();
      const leases: Array<{ turnId: string; lease: Lease }> = [];
      const problems: string[] = [];
      let reclaimed = 0;
      let arrival = 0;
      let nextTurn = 0;
      const unsettled = new Set<Promise<unknown>>();

      /** The model's grant order at `now`: starred or aged first, then prompt time, then arrival. */
      const modelOrder = (provider: string) => {
        const cutoff = clock.now() - agingMs;
        const first = (w: Waiting) => starred.has(w.workspace) || w.promptStartedAt < cutoff;
        return [...waiting.values()]
          .filter((w) => w.provider === provider)
          .sort((x, y) =>
            first(x) !== first(y)
              ? first(x)
                ? -1
                : 1
              : x.promptStartedAt - y.promptStartedAt || x.arrival - y.arrival,
          );
      };

      const onGranted = (e: GrantEvent) => {
        const count = (held.get(e.providerId) ?? 0) + 1;
        held.set(e.providerId, count);
        if (count > (limits.get(e.providerId) ?? 0)) problems.push(`over the limit on ${e.providerId}`);
        const expected = modelOrder(e.providerId)[0];
        if (!e.queued && expected !== undefined) problems.push(`${e.turnId} barged past ${expected.turnId}`);
        if (e.queued && expected?.turnId !== e.turnId)
          problems.push(`granted ${e.turnId}, the order says ${expected?.turnId}`);
        if (e.turnId !== null) waiting.delete(e.turnId);
      };

      const manager = createConcurrencyManager({
        clock,
        agingMs,
        maxQueue: 6,
        observer: { granted: onGranted, reclaimed: () => reclaimed++ },
      });
      for (const p of providers) manager.setLimit(p, 1);

      const run = (c: Command) => {
        switch (c.kind) {
          case "acquire": {
            const turnId = `t${nextTurn++}`;
            const controller = c.withSignal ? new AbortController() : undefined;
            const promptStartedAt = clock.now() - c.age;
            const promise = manager.acquire({
              providerId: c.provider,
              workspaceId: c.workspace,
              promptStartedAt,
              turnId,
              signal: controller?.signal,
              onQueued: () =>
                waiting.set(turnId, {
                  turnId,
                  provider: c.provider,
                  workspace: c.workspace,
                  promptStartedAt,
                  arrival: arrival++,
                  controller,
                }),
            });
            const tracked = promise.then(
              (lease) => leases.push({ turnId, lease }),
              () => undefined,
            );
            unsettled.add(tracked);
            void tracked.then(() => unsettled.delete(tracked));
            return;
          }
          case "release": {
            const entry = leases.splice(c.pick % Math.max(1, leases.length), 1)[0];
            if (entry === undefined) return;
            held.set(entry.lease.providerId, (held.get(entry.lease.providerId) ?? 0) - 1);
            entry.lease.release();
            if (c.twice) entry.lease.release();
            return;
          }
          case "abort": {
            const victims = [...waiting.values()].filter((w) => w.controller !== undefined);
            const victim = victims[c.pick % Math.max(1, victims.length)];
            if (victim === undefined) return;
            waiting.delete(victim.turnId);
            victim.controller?.abort(new Error(`abort ${victim.turnId}`));
            return;
          }
          case "star":
          case "unstar":
          case "forget":
            if (c.kind === "star") starred.add(c.workspace);
            else starred.delete(c.workspace);
            if (c.kind === "forget") manager.forgetWorkspace(c.workspace);
            else manager.setStarred(c.workspace, c.kind === "star");
            return;
          case "limit":
            limits.set(c.provider, c.n);
            manager.setLimit(c.provider, c.n);
            return;
          case "advance":
            clock.advance(c.ms);
            return;
          case "pause":
            manager.pauseUntil(c.provider, clock.now() + c.ms);
            return;
        }
      };

      for (const c of commands) {
        run(c);
        await settle();
        expect(problems).toEqual([]);
        for (const snap of manager.snapshot()) {
          expect(snap.inFlight).toBe(held.get(snap.providerId) ?? -1);
          // The queue, in the order the manager would serve it, is the model's order.
          expect(snap.queue.map((q) => q.turnId)).toEqual(modelOrder(snap.providerId).map((w) => w.turnId));
          // Work-conserving: a free slot and a waiter never coexist outside a pause.
          if (snap.coolingUntil === null && snap.inFlight < snap.maxConcurrent)
            expect(snap.queue).toHaveLength(0);
        }
      }

      // All work ends: pauses pass, every lease is released as it is granted.
      clock.advance(10_000);
      await settle();
      while (leases.length > 0 || waiting.size > 0) {
        for (const { lease } of leases.splice(0)) {
          held.set(lease.providerId, (held.get(lease.providerId) ?? 0) - 1);
          lease.release();
        }
        await settle();
      }
      await Promise.all(unsettled);
      expect(problems).toEqual([]);
      expect(manager.leaseCount).toBe(0);
      expect(
        manager.stats().every((s) => s.inFlight === 0 && s.queuedStarred + s.queuedUnstarred === 0),
      ).toBe(true);
      expect(reclaimed).toBe(0);
      manager.dispose();
    }),
    { numRuns: 200 },
  );
});
