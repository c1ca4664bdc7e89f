import { DispatchError } from "@dispatch/kernel";
import { createConcurrencyManager, type PriorityConcurrencyManager } from "../src/concurrency-manager.ts";
import type { GrantEvent } from "../src/manager-options.ts";
import {
  type ConcurrencyWrappedProvider,
  wrapProviderWithConcurrency,
} from "../src/wrap-provider-with-concurrency.ts";
import { ControllableProvider } from "./controllable-provider.ts";
import { FakeClock, settle } from "./fake-clock.ts";

type Terminal = "end" | "fail" | "break" | "abort" | "rejected";

interface Call {
  id: string;
  providerId: string;
  workspaceId: string;
  promptStartedAt: number;
  controller: AbortController;
  granted: boolean;
  settled: boolean;
  terminal: Terminal | undefined;
  expectedError: unknown;
  breakOnNext: boolean;
  emitted: number;
  received: number;
}

interface Waiting {
  call: Call;
  arrival: number;
}

/**
 * Drives wrapped streams through the real manager and checks, as it goes, that no grant exceeds a
 * limit or breaks the grant order (a brute-force model), that held leases match live streams, and
 * that every call ends the way the schedule says. Problems are collected, not thrown, so a schedule
 * runs to its end. Used by the property test and the chaos run.
 */
export class StreamHarness {
  readonly clock = new FakeClock();
  readonly manager: PriorityConcurrencyManager;
  readonly provider: ControllableProvider;
  readonly problems: string[] = [];
  readonly counts = { grants: 0, queued: 0, queueFull: 0, reclaimed: 0, stalled: 0, settled: 0 };
  readonly #agingMs: number;
  readonly #wrapped = new Map<string, ConcurrencyWrappedProvider<string, string>>();
  readonly #limits = new Map<string, number>();
  readonly #starred = new Set<string>();
  readonly #waiting = new Map<string, Waiting>();
  readonly #calls = new Map<string, Call>();
  #arrival = 0;
  #nextId = 0;

  constructor(options: {
    providers: readonly string[];
    agingMs: number;
    maxQueue: number;
    honoursSignal: boolean;
  }) {
    this.#agingMs = options.agingMs;
    this.provider = new ControllableProvider({ honoursSignal: options.honoursSignal, keepAll: false });
    this.manager = createConcurrencyManager({
      clock: this.clock,
      agingMs: options.agingMs,
      maxQueue: options.maxQueue,
      observer: {
        granted: (e) => this.#onGranted(e),
        queueFull: () => this.counts.queueFull++,
        reclaimed: () => this.counts.reclaimed++,
        stalled: () => this.counts.stalled++,
      },
    });
    for (const p of options.providers) {
      this.#limits.set(p, 1);
      this.manager.setLimit(p, 1);
      this.#wrapped.set(p, wrapProviderWithConcurrency(this.provider, this.manager, { providerId: p }));
    }
  }

  /** Calls not yet settled. */
  get active(): number {
    return this.#calls.size;
  }

  start(providerId: string, workspaceId: string, ageMs: number): void {
    const wrapped = this.#wrapped.get(providerId);
    if (wrapped === undefined) throw new Error(`no provider ${providerId}`);
    const call: Call = {
      id: `c${this.#nextId++}`,
      providerId,
      workspaceId,
      promptStartedAt: this.clock.now() - ageMs,
      controller: new AbortController(),
      granted: false,
      settled: false,
      terminal: undefined,
      expectedError: undefined,
      breakOnNext: false,
      emitted: 0,
      received: 0,
    };
    this.#calls.set(call.id, call);
    const fullBefore = this.counts.queueFull;
    const stream = wrapped.stream(call.id, {
      signal: call.controller.signal,
      workspaceId,
      promptStartedAt: call.promptStartedAt,
      turnId: call.id,
      onWaiting: () => {
        this.counts.queued++;
        this.#waiting.set(call.id, { call, arrival: this.#arrival++ });
      },
    });
    void this.#consume(call, stream);
    // Everything up to `acquire` ran synchronously, so a refusal is already counted.
    if (this.counts.queueFull !== fullBefore) call.terminal = "rejected";
  }

  emit(pick: number): void {
    const call = this.#pickStreaming(pick);
    if (call === undefined) return;
    call.emitted++;
    this.#providerCall(call).emit(`${call.id}:${call.emitted}`);
  }

  end(pick: number): void {
    const call = this.#pickStreaming(pick);
    if (call === undefined) return;
    call.terminal = "end";
    this.#providerCall(call).end();
  }

  fail(pick: number): void {
    const call = this.#pickStreaming(pick);
    if (call === undefined) return;
    call.terminal = "fail";
    call.expectedError = new Error(`provider failed ${call.id}`);
    this.#providerCall(call).fail(call.expectedError);
  }

  /** The consumer leaves its `for await` at the next part. */
  breakEarly(pick: number): void {
    const call = this.#pickStreaming(pick);
    if (call === undefined) return;
    call.terminal = "break";
    call.breakOnNext = true;
    call.emitted++;
    this.#providerCall(call).emit(`${call.id}:last`);
  }

  /** Aborts a queued or streaming call. */
  abort(pick: number): void {
    const open = [...this.#calls.values()].filter((c) => c.terminal === undefined);
    const call = open[pick % Math.max(1, open.length)];
    if (call === undefined) return;
    call.terminal = "abort";
    call.expectedError = new DispatchError("cancelled", `cancelled ${call.id}`);
    this.#waiting.delete(call.id);
    call.controller.abort(call.expectedError);
  }

  setStarred(workspaceId: string, starred: boolean): void {
    if (starred) this.#starred.add(workspaceId);
    else this.#starred.delete(workspaceId);
    this.manager.setStarred(workspaceId, starred);
  }

  setLimit(providerId: string, n: number): void {
    this.#limits.set(providerId, n);
    this.manager.setLimit(providerId, n);
  }

  advance(ms: number): void {
    this.clock.advance(ms);
  }

  pause(providerId: string, ms: number): void {
    this.manager.pauseUntil(providerId, this.clock.now() + ms);
  }

  /** Lets promise chains run, then checks that held leases match granted, unsettled calls. */
  async settle(): Promise<void> {
    await settle();
    const open = new Map<string, number>();
    for (const c of this.#calls.values())
      if (c.granted) open.set(c.providerId, (open.get(c.providerId) ?? 0) + 1);
    for (const s of this.manager.stats()) {
      if (s.inFlight !== (open.get(s.providerId) ?? 0))
        this.problems.push(
          `${s.providerId}: ${s.inFlight} leases held for ${open.get(s.providerId) ?? 0} live streams`,
        );
    }
  }

  /** Ends all work: pauses pass, streams end, queued calls get their slots and end too. */
  async finish(): Promise<void> {
    this.clock.advance(10_000);
    for (let rounds = 0; this.#calls.size > 0; rounds++) {
      if (rounds > 1_000) {
        this.problems.push(`${this.#calls.size} calls never finished`);
        return;
      }
      for (const call of [...this.#calls.values()]) {
        if (call.granted && call.terminal === undefined && this.provider.byRequest.has(call.id)) {
          call.terminal = "end";
          this.#providerCall(call).end();
        }
      }
      await this.settle();
    }
  }

  #onGranted(e: GrantEvent): void {
    this.counts.grants++;
    const limit = this.#limits.get(e.providerId) ?? 0;
    const inFlight = this.manager.stats().find((s) => s.providerId === e.providerId)?.inFlight ?? 0;
    if (inFlight > limit) this.problems.push(`${e.providerId}: ${inFlight} leases, limit ${limit}`);
    const expected = this.#order(e.providerId)[0];
    if (!e.queued && expected !== undefined)
      this.problems.push(`${e.turnId} barged past ${expected.call.id}`);
    if (e.queued && expected?.call.id !== e.turnId)
      this.problems.push(`granted ${e.turnId}; the order says ${expected?.call.id}`);
    const call = e.turnId === null ? undefined : this.#calls.get(e.turnId);
    if (call === undefined) this.problems.push(`grant for unknown call ${e.turnId}`);
    else call.granted = true;
    if (e.turnId !== null) this.#waiting.delete(e.turnId);
  }

  /** The model's grant order: starred or aged first, then prompt time, then arrival. */
  #order(providerId: string): Waiting[] {
    const cutoff = this.clock.now() - this.#agingMs;
    const first = (w: Waiting) => this.#starred.has(w.call.workspaceId) || w.call.promptStartedAt < cutoff;
    return [...this.#waiting.values()]
      .filter((w) => w.call.providerId === providerId)
      .sort((x, y) =>
        first(x) !== first(y)
          ? first(x)
            ? -1
            : 1
          : x.call.promptStartedAt - y.call.promptStartedAt || x.arrival - y.arrival,
      );
  }

  async #consume(call: Call, stream: AsyncIterable<string>): Promise<void> {
    let error: unknown;
    let failed = false;
    try {
      for await (const _part of stream) {
        call.received++;
        if (call.breakOnNext) break;
      }
    } catch (e) {
      failed = true;
      error = e;
    }
    call.settled = true;
    call.granted = false;
    this.#calls.delete(call.id);
    this.provider.byRequest.delete(call.id);
    this.counts.settled++;
    this.#checkOutcome(call, failed, error);
  }

  #checkOutcome(call: Call, failed: boolean, error: unknown): void {
    const say = (what: string) => this.problems.push(`${call.id} (${call.terminal}): ${what}`);
    switch (call.terminal) {
      case "end":
      case "break":
        if (failed) say(`failed with ${String(error)}`);
        else if (call.received !== call.emitted) say(`received ${call.received} of ${call.emitted} parts`);
        return;
      case "fail":
      case "abort":
        if (!failed || error !== call.expectedError) say(`expected its error, got ${String(error)}`);
        return;
      case "rejected":
        if (!DispatchError.isInstance(error) || error.code !== "provider_queue_full")
          say(`expected provider_queue_full, got ${String(error)}`);
        return;
      case undefined:
        say(`settled on its own (${failed ? String(error) : "ok"})`);
    }
  }

  #pickStreaming(pick: number): Call | undefined {
    const streaming = [...this.#calls.values()].filter(
      (c) => c.granted && c.terminal === undefined && this.provider.byRequest.has(c.id),
    );
    return streaming[pick % Math.max(1, streaming.length)];
  }

  #providerCall(call: Call) {
    const found = this.provider.byRequest.get(call.id);
    if (found === undefined) throw new Error(`provider call ${call.id} missing`);
    return found;
  }
}
