import { afterEach, expect, test } from "bun:test";
import { createConcurrencyManager, type PriorityConcurrencyManager } from "@dispatch/provider-concurrency";
import { createProvidersService } from "../src/providers-service.ts";
import type { CallContext, ModelProvider, ProvidersService, StreamPart } from "../src/types.ts";
import { ask, collect, errorOf, within } from "./helpers.ts";

/** Edges of the one-loop model call (issue 25) that the wire tests do not reach: fake providers only. */

const managers: PriorityConcurrencyManager[] = [];
afterEach(() => {
  for (const manager of managers.splice(0)) manager.dispose();
});

function context(who: string, signal = new AbortController().signal): CallContext {
  return { signal, workspaceId: "w", conversationId: `c-${who}`, turnId: `t-${who}`, promptStartedAt: 1000 };
}

function serviceOf(provider: ModelProvider, maxConcurrent = 1, stallTimeoutMs = 60_000) {
  const manager = createConcurrencyManager({ watchdogIntervalMs: 10 });
  managers.push(manager);
  const service = createProvidersService({
    manager,
    providers: [
      {
        settings: {
          id: "p",
          kind: "fake",
          models: [],
          maxConcurrent,
          maxAttempts: 3,
          stallTimeoutMs,
          maxRetryAfterMs: 60_000,
          backoff: { baseMs: 1, maxMs: 1 },
        },
        built: { status: "available", provider },
      },
    ],
  });
  return { manager, service };
}

/** A provider whose calls each stream one text part and then wait for `release` (ignoring the abort). */
function stubbornProvider(release: Promise<void>, calls: { started: number; closed: number }): ModelProvider {
  return {
    id: "p",
    kind: "fake",
    async *stream() {
      calls.started += 1;
      try {
        yield { type: "text-delta", text: "one" };
        await release;
        yield { type: "finish", reason: "stop" };
      } finally {
        calls.closed += 1;
      }
    },
  };
}

async function firstParts(service: ProvidersService, who: string, count: number, signal?: AbortSignal) {
  const parts: StreamPart[] = [];
  const iterator = service.stream("p", ask(who), context(who, signal))[Symbol.asyncIterator]();
  while (parts.length < count) {
    const next = await iterator.next();
    if (next.done) break;
    parts.push(next.value);
  }
  return { parts, iterator };
}

test("a provider that ignores its abort does not hold the call: the error comes at once and the slot is free", async () => {
  const release = Promise.withResolvers<void>();
  const calls = { started: 0, closed: 0 };
  const { service, manager } = serviceOf(stubbornProvider(release.promise, calls));
  const controller = new AbortController();
  const { parts, iterator } = await firstParts(service, "a", 2, controller.signal);
  expect(parts.map((p) => p.type)).toEqual(["slot-granted", "text-delta"]);
  const pending = iterator.next();
  controller.abort();
  const ended = await within(pending, 2000, "the aborted call");
  expect(ended.done === false && ended.value.type === "error" && ended.value.error.code).toBe("aborted");
  expect((await iterator.next()).done).toBe(true);
  expect(manager.snapshot()[0]?.inFlight).toBe(0);
  release.resolve();
});

test("a consumer that leaves while queued gives its place back; a slot granted later is not leaked", async () => {
  const release = Promise.withResolvers<void>();
  const calls = { started: 0, closed: 0 };
  const { service, manager } = serviceOf(stubbornProvider(release.promise, calls));
  const holder = await firstParts(service, "holder", 2);
  const queued = await firstParts(service, "queued", 1);
  expect(queued.parts).toEqual([{ type: "waiting", reason: "queue", attempt: 1 }]);
  expect(manager.snapshot()[0]?.queue.map((w) => w.turnId)).toEqual(["t-queued"]);
  await queued.iterator.return?.(undefined);
  expect(manager.snapshot()[0]?.queue).toEqual([]);
  release.resolve();
  expect((await collect({ [Symbol.asyncIterator]: () => holder.iterator })).at(-1)?.type).toBe("finish");
  expect(manager.snapshot()[0]).toMatchObject({ inFlight: 0, queue: [] });
  expect(calls).toEqual({ started: 1, closed: 1 });
});

test("a consumer that leaves right after the grant releases the slot and closes the provider's stream", async () => {
  const release = Promise.withResolvers<void>();
  const calls = { started: 0, closed: 0 };
  const { service, manager } = serviceOf(stubbornProvider(release.promise, calls));
  const { parts, iterator } = await firstParts(service, "a", 1);
  expect(parts.map((p) => p.type)).toEqual(["slot-granted"]);
  await iterator.return?.(undefined);
  expect(manager.snapshot()[0]?.inFlight).toBe(0);
  // The provider had been started (its first part was on its way) and is closed once it yields.
  await within(
    (async () => {
      while (calls.closed < calls.started) await Bun.sleep(5);
    })(),
    2000,
    "the provider's stream to close",
  );
  release.resolve();
});

test("a stall on a provider that ignores its abort ends the call as stalled and frees the slot", async () => {
  const calls = { started: 0, closed: 0 };
  const never = new Promise<void>(() => {});
  const { service, manager } = serviceOf(stubbornProvider(never, calls), 1, 50);
  const parts = await within(collect(service.stream("p", ask("a"), context("a"))), 5000, "the stalled call");
  expect(parts.map((p) => p.type)).toEqual(["slot-granted", "text-delta", "error"]);
  expect(errorOf(parts).code).toBe("stalled");
  expect(manager.snapshot()[0]?.inFlight).toBe(0);
});

test.each([
  ["slot-granted", "throws"],
  ["text-delta", "throws"],
  ["text-delta", "rejects"],
])(
  "a sink that fails on %s (%s) ends the call with its error: slot released, stream closed",
  async (at, how) => {
    const release = Promise.withResolvers<void>();
    const calls = { started: 0, closed: 0 };
    const { service, manager } = serviceOf(stubbornProvider(release.promise, calls));
    const seen: string[] = [];
    const failure = new Error("the sink's store is gone");
    const call = service.call("p", ask("a"), context("a"), (part) => {
      seen.push(part.type);
      if (part.type !== at) return;
      if (how === "throws") throw failure;
      return Promise.reject(failure);
    });
    await expect(within(call, 2000, "the call")).rejects.toBe(failure);
    expect(seen).toEqual(at === "slot-granted" ? ["slot-granted"] : ["slot-granted", "text-delta"]);
    expect(manager.snapshot()[0]).toMatchObject({ inFlight: 0, queue: [] });
    // the provider's stream is closed once its pending step lets it
    release.resolve();
    await within(
      (async () => {
        while (calls.closed < calls.started) await Bun.sleep(5);
      })(),
      2000,
      "the provider's stream to close",
    );
  },
);

test("a sink that fails while its call is queued gives the place back; the grant that comes later is not leaked", async () => {
  const release = Promise.withResolvers<void>();
  const calls = { started: 0, closed: 0 };
  const { service, manager } = serviceOf(stubbornProvider(release.promise, calls));
  const holder = await firstParts(service, "holder", 2);
  const failure = new Error("no");
  const queued = service.call("p", ask("queued"), context("queued"), (part) => {
    if (part.type === "waiting") throw failure;
  });
  await expect(within(queued, 2000, "the queued call")).rejects.toBe(failure);
  release.resolve();
  expect((await collect({ [Symbol.asyncIterator]: () => holder.iterator })).at(-1)?.type).toBe("finish");
  expect(manager.snapshot()[0]).toMatchObject({ inFlight: 0, queue: [] });
  expect(calls).toEqual({ started: 1, closed: 1 });
});

test("an abort while the sink holds the grant ends the call as aborted, with nothing left unhandled", async () => {
  const calls = { started: 0, closed: 0 };
  const never = new Promise<void>(() => {});
  // The first part never comes and the provider ignores the abort: only the call's race ends it.
  const provider: ModelProvider = {
    id: "p",
    kind: "fake",
    async *stream() {
      calls.started += 1;
      try {
        await never;
        yield { type: "finish", reason: "stop" };
      } finally {
        calls.closed += 1;
      }
    },
  };
  const { service, manager } = serviceOf(provider);
  const caller = new AbortController();
  const seen: StreamPart[] = [];
  const call = service.call("p", ask("a"), context("a", caller.signal), async (part) => {
    seen.push(part);
    if (part.type !== "slot-granted") return;
    // the turn's write of `step.started` takes a loop turn or more; the caller leaves meanwhile
    caller.abort(new Error("the turn was cancelled"));
    await Bun.sleep(20);
  });
  await within(call, 2000, "the aborted call");
  expect(seen.map((p) => p.type)).toEqual(["slot-granted", "error"]);
  expect(errorOf(seen).code).toBe("aborted");
  expect(manager.snapshot()[0]).toMatchObject({ inFlight: 0, queue: [] });
});
