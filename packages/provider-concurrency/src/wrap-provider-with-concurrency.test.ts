import { afterEach, describe, expect, test } from "bun:test";
import { createMemoryLogger, DispatchError } from "@dispatch/kernel";
import { ControllableProvider } from "../test/controllable-provider.ts";
import { FakeClock, settle } from "../test/fake-clock.ts";
import { countedSignal } from "../test/manager-fixtures.ts";
import { createConcurrencyManager, type PriorityConcurrencyManager } from "./concurrency-manager.ts";
import { type WrapContext, wrapProviderWithConcurrency } from "./wrap-provider-with-concurrency.ts";

let manager: PriorityConcurrencyManager | undefined;
afterEach(() => manager?.dispose());

function setup(
  options: { limit?: number; maxQueue?: number; maxLeaseMs?: number; honoursSignal?: boolean } = {},
) {
  const clock = new FakeClock();
  const { logger, records } = createMemoryLogger();
  manager = createConcurrencyManager({
    clock,
    logger,
    maxQueue: options.maxQueue,
    maxLeaseMs: options.maxLeaseMs,
  });
  manager.setLimit("p", options.limit ?? 1);
  const provider = new ControllableProvider({ honoursSignal: options.honoursSignal });
  const wrapped = wrapProviderWithConcurrency(provider, manager, { providerId: "p" });
  return { clock, records, manager, provider, wrapped };
}

function context(extra: Partial<WrapContext> = {}): WrapContext & { controller: AbortController } {
  const controller = new AbortController();
  return { controller, signal: controller.signal, workspaceId: "w", promptStartedAt: 1, ...extra };
}

type Outcome = { ok: true } | { ok: false; error: unknown };

/** Consumes a stream in the background, optionally breaking out after `breakAfter` parts. */
function consume(iterable: AsyncIterable<string>, breakAfter?: number) {
  const parts: string[] = [];
  const outcome: Promise<Outcome> = (async () => {
    for await (const part of iterable) {
      parts.push(part);
      if (breakAfter !== undefined && parts.length >= breakAfter) break;
    }
  })().then(
    () => ({ ok: true }) as const,
    (error: unknown) => ({ ok: false, error }) as const,
  );
  return { parts, outcome };
}

function inFlight(m: PriorityConcurrencyManager): number {
  return m.stats()[0]?.inFlight ?? -1;
}

describe("wrapProviderWithConcurrency releases the lease", () => {
  test("when the stream ends", async () => {
    const { manager, provider, wrapped } = setup();
    const run = consume(wrapped.stream("hello", context()));
    await settle();
    expect(inFlight(manager)).toBe(1);
    provider.last.emit("a");
    provider.last.emit("b");
    provider.last.end();
    expect(await run.outcome).toEqual({ ok: true });
    expect(run.parts).toEqual(["a", "b"]);
    expect(provider.last.request).toBe("hello");
    expect(inFlight(manager)).toBe(0);
    expect(manager.leaseCount).toBe(0);
  });

  test("when the provider throws, and the provider's error is what the caller gets", async () => {
    const { manager, provider, wrapped } = setup();
    const run = consume(wrapped.stream("x", context()));
    await settle();
    provider.last.emit("a");
    const boom = new Error("boom");
    provider.last.fail(boom);
    const outcome = await run.outcome;
    expect(outcome).toEqual({ ok: false, error: boom });
    expect(inFlight(manager)).toBe(0);
  });

  test("when the consumer breaks out early, and the provider's stream is closed", async () => {
    const { manager, provider, wrapped } = setup();
    const run = consume(wrapped.stream("x", context()), 1);
    await settle();
    provider.last.emit("a");
    expect(await run.outcome).toEqual({ ok: true });
    expect(run.parts).toEqual(["a"]);
    expect(provider.last.cleanedUp).toBe(true);
    expect(inFlight(manager)).toBe(0);
  });

  test("when the caller aborts mid-stream, with the signal's reason", async () => {
    const { manager, provider, wrapped } = setup();
    const ctx = context();
    const run = consume(wrapped.stream("x", ctx));
    await settle();
    provider.last.emit("a");
    await settle();
    const reason = new DispatchError("cancelled", "turn cancelled");
    ctx.controller.abort(reason);
    expect(await run.outcome).toEqual({ ok: false, error: reason });
    expect(provider.last.signal.aborted).toBe(true);
    expect(inFlight(manager)).toBe(0);
  });

  test("when aborted before the first part, even if the provider ignores its signal", async () => {
    const { manager, provider, wrapped } = setup({ honoursSignal: false });
    const ctx = context();
    const run = consume(wrapped.stream("x", ctx));
    await settle();
    expect(provider.calls.length).toBe(1);
    const reason = new Error("user pressed stop");
    ctx.controller.abort(reason);
    expect(await run.outcome).toEqual({ ok: false, error: reason });
    expect(inFlight(manager)).toBe(0);
    // The provider still owes its next(); once it settles, the requested return() closes it.
    provider.last.end();
    await settle();
    expect(provider.last.cleanedUp).toBe(true);
  });

  test("when a queued call is aborted: the signal's reason, the provider never called", async () => {
    const { manager, provider, wrapped } = setup();
    const first = consume(wrapped.stream("first", context()));
    await settle();
    let waiting = 0;
    let granted = 0;
    const ctx = context({ onWaiting: () => waiting++, onGranted: () => granted++ });
    const queued = consume(wrapped.stream("second", ctx));
    await settle();
    expect(waiting).toBe(1);
    expect(manager.snapshot()[0]?.queue.length).toBe(1);
    const reason = new Error("gone");
    ctx.controller.abort(reason);
    expect(await queued.outcome).toEqual({ ok: false, error: reason });
    expect(granted).toBe(0);
    expect(provider.calls.length).toBe(1);
    expect(manager.snapshot()[0]?.queue.length).toBe(0);
    provider.last.end();
    expect(await first.outcome).toEqual({ ok: true });
    expect(inFlight(manager)).toBe(0);
  });
});

describe("wrapProviderWithConcurrency", () => {
  test("an already-aborted signal fails at once without taking a slot or calling the provider", async () => {
    const { manager, provider, wrapped } = setup();
    const ctx = context();
    const reason = new Error("already gone");
    ctx.controller.abort(reason);
    const run = consume(wrapped.stream("x", ctx));
    expect(await run.outcome).toEqual({ ok: false, error: reason });
    expect(provider.calls.length).toBe(0);
    expect(inFlight(manager)).toBe(0);
  });

  test("a grant and an abort in the same tick: the slot goes back, the provider is not called", async () => {
    const { manager, provider, wrapped } = setup();
    const held = await manager.acquire({ providerId: "p", workspaceId: "w", promptStartedAt: 1 });
    let granted = 0;
    const ctx = context({ onGranted: () => granted++ });
    const run = consume(wrapped.stream("x", ctx));
    await settle();
    const reason = new Error("too late");
    held.release(); // hands the slot to the queued call synchronously
    ctx.controller.abort(reason);
    expect(await run.outcome).toEqual({ ok: false, error: reason });
    expect(provider.calls.length).toBe(0);
    expect(granted).toBe(0);
    expect(inFlight(manager)).toBe(0);
  });

  test("calls onGranted (not onWaiting) when a slot is free at once", async () => {
    const { provider, wrapped } = setup();
    let waiting = 0;
    let granted = 0;
    const run = consume(
      wrapped.stream("x", context({ onWaiting: () => waiting++, onGranted: () => granted++ })),
    );
    await settle();
    expect([waiting, granted]).toEqual([0, 1]);
    provider.last.end();
    await run.outcome;
  });

  test("a queued call starts when the running one ends, with onWaiting then onGranted", async () => {
    const { manager, provider, wrapped } = setup();
    const first = consume(wrapped.stream("first", context()));
    await settle();
    const events: string[] = [];
    const second = consume(
      wrapped.stream(
        "second",
        context({ onWaiting: () => events.push("waiting"), onGranted: () => events.push("granted") }),
      ),
    );
    await settle();
    expect(events).toEqual(["waiting"]);
    provider.last.end();
    await first.outcome;
    await settle();
    expect(events).toEqual(["waiting", "granted"]);
    expect(provider.last.request).toBe("second");
    expect(inFlight(manager)).toBe(1);
    provider.last.end();
    expect(await second.outcome).toEqual({ ok: true });
    expect(inFlight(manager)).toBe(0);
  });

  test("no abort listener is left on the caller's signal after a queued call ends", async () => {
    const { provider, wrapped } = setup();
    const first = consume(wrapped.stream("first", context()));
    await settle();
    const counted = countedSignal();
    const second = consume(wrapped.stream("second", context({ signal: counted.signal })));
    await settle();
    expect(counted.listeners()).toBe(1); // the queued waiter's
    provider.last.end();
    await first.outcome;
    await settle();
    expect(counted.listeners()).toBe(0);
    provider.last.emit("a");
    provider.last.end();
    expect(await second.outcome).toEqual({ ok: true });
    expect(counted.listeners()).toBe(0);
  });

  test("a full queue fails with provider_queue_full", async () => {
    const { provider, wrapped } = setup({ maxQueue: 1 });
    const first = consume(wrapped.stream("1", context()));
    const second = consume(wrapped.stream("2", context()));
    await settle();
    const third = consume(wrapped.stream("3", context()));
    const outcome = await third.outcome;
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: unknown }).error;
    expect(DispatchError.isInstance(error) && error.code).toBe("provider_queue_full");
    expect((error as Error).message).toContain('"p"');
    expect((error as Error).message).toContain("1");
    provider.last.end();
    await first.outcome;
    await settle();
    provider.last.end();
    expect(await second.outcome).toEqual({ ok: true });
  });

  test("an unknown provider fails with unknown_provider", async () => {
    const { manager } = setup();
    const other = wrapProviderWithConcurrency(new ControllableProvider(), manager, { providerId: "nope" });
    const outcome = await consume(other.stream("x", context())).outcome;
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: unknown }).error;
    expect(DispatchError.isInstance(error) && error.code).toBe("unknown_provider");
  });

  test("a stream silent past stallTimeoutMs fails with `stalled` naming the provider and the timeout", async () => {
    const { clock, manager, provider, wrapped } = setup({ limit: 1 });
    const run = consume(wrapped.stream("x", context({ stallTimeoutMs: 5_000 })));
    await settle();
    // Parts keep it alive even though the whole call outlasts the timeout.
    for (let i = 0; i < 4; i++) {
      clock.advance(3_000);
      provider.last.emit(`p${i}`);
      await settle();
    }
    expect(run.parts.length).toBe(4);
    expect(inFlight(manager)).toBe(1);
    clock.advance(6_000);
    const outcome = await run.outcome;
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: unknown }).error;
    expect(DispatchError.isInstance(error) && error.code).toBe("stalled");
    expect((error as Error).message).toContain('"p"');
    expect((error as Error).message).toContain("5000 ms");
    expect(provider.last.signal.aborted).toBe(true);
    expect(inFlight(manager)).toBe(0);
  });

  test("a lease held past maxLeaseMs is reclaimed with an error log, even while parts flow", async () => {
    const { clock, manager, records, provider, wrapped } = setup({
      maxLeaseMs: 10_000,
      honoursSignal: false,
    });
    const run = consume(wrapped.stream("x", context()));
    await settle();
    for (let i = 0; i < 3; i++) {
      clock.advance(4_000);
      provider.last.emit(`p${i}`);
      await settle();
    }
    const outcome = await run.outcome;
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: unknown }).error;
    expect(DispatchError.isInstance(error) && error.code).toBe("lease_reclaimed");
    expect(records.some((r) => r.level === "error" && r.msg.includes("maxLeaseMs"))).toBe(true);
    expect(inFlight(manager)).toBe(0);
  });
});
