import { type CancelTimer, DispatchError, type Logger } from "@dispatch/kernel";
import { type Clock, systemClock } from "./clock.ts";
import {
  invalidRequest,
  queueFullError,
  reclaimedError,
  shutdownError,
  stalledError,
  unknownProviderError,
} from "./concurrency-errors.ts";
import { overdueLeases } from "./lease-watchdog.ts";
import { ManagedLease } from "./managed-lease.ts";
import {
  type ConcurrencyManagerOptions,
  type ConcurrencyObserver,
  checkedTunables,
  type ProviderStats,
} from "./manager-options.ts";
import { ProviderQueue } from "./provider-queue.ts";
import type { AcquireRequest, ConcurrencyManager, Lease, ProviderSlotsSnapshot } from "./types.ts";
import { type ProviderState, Waiter } from "./waiter.ts";
import { WorkspaceIndex } from "./workspace-index.ts";

/** Creates a concurrency manager; its watchdog timer starts at once and stops at `dispose()`. */
export function createConcurrencyManager(
  options: ConcurrencyManagerOptions = {},
): PriorityConcurrencyManager {
  return new PriorityConcurrencyManager(options);
}

/**
 * Per-provider slots with a starred-first priority queue. Pure logic: no I/O; time and timers come
 * from the injected clock. A freed slot goes straight to the chosen waiter inside `release()`, so no
 * later caller can take it first.
 */
export class PriorityConcurrencyManager implements ConcurrencyManager {
  readonly #agingMs: number;
  readonly #maxQueue: number;
  readonly #maxLeaseMs: number;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #observer: ConcurrencyObserver;
  readonly #providers = new Map<string, ProviderState>();
  readonly #starred = new Set<string>();
  readonly #byWorkspace = new WorkspaceIndex<Waiter>();
  readonly #leases = new Set<ManagedLease>();
  readonly #releaseLease = (lease: ManagedLease) => this.#release(lease);
  readonly #now: () => number;
  readonly #stopWatchdog: CancelTimer;
  #seq = 0;
  #disposed = false;

  constructor(options: ConcurrencyManagerOptions = {}) {
    const checked = checkedTunables(options);
    this.#agingMs = checked.agingMs;
    this.#maxQueue = checked.maxQueue;
    this.#maxLeaseMs = checked.maxLeaseMs;
    this.#clock = options.clock ?? systemClock;
    this.#now = () => this.#clock.now();
    this.#logger = options.logger;
    this.#observer = options.observer ?? {};
    this.#stopWatchdog = this.#clock.setInterval(() => this.checkLeases(), checked.watchdogIntervalMs);
  }

  setLimit(providerId: string, maxConcurrent: number): void {
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) {
      throw new DispatchError(
        "invalid_request",
        `Expected \`maxConcurrent\` of provider "${providerId}" to be an integer >= 1, got \`${maxConcurrent}\``,
      );
    }
    const provider = this.#providers.get(providerId);
    if (provider === undefined) {
      this.#providers.set(providerId, {
        id: providerId,
        limit: maxConcurrent,
        inFlight: 0,
        queue: new ProviderQueue<Waiter>(),
        coolingUntil: null,
        cancelCooling: undefined,
      });
      return;
    }
    provider.limit = maxConcurrent;
    this.#pump(provider);
  }

  acquire(request: AcquireRequest): Promise<Lease> {
    if (this.#disposed) return Promise.reject(shutdownError());
    const provider = this.#providers.get(request.providerId);
    if (provider === undefined) {
      return Promise.reject(unknownProviderError(request.providerId));
    }
    const invalid = invalidRequest(request);
    if (invalid !== undefined) return Promise.reject(invalid);
    const signal = request.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.#clock.now();
    const queue = provider.queue;
    if (queue.size === 0 && provider.inFlight < provider.limit && !this.#cooling(provider, now)) {
      return Promise.resolve(this.#grant(provider, request, now, 0, false));
    }
    if (queue.size >= this.#maxQueue) {
      this.#observer.queueFull?.({ providerId: provider.id });
      return Promise.reject(queueFullError(provider.id, this.#maxQueue));
    }
    const waiter = new Waiter(++this.#seq, request, provider, this.#starred.has(request.workspaceId), now);
    queue.push(waiter);
    this.#byWorkspace.add(request.workspaceId, waiter);
    if (signal !== undefined) {
      const onAbort = () => this.#abortWaiter(waiter);
      waiter.onAbort = onAbort;
      signal.addEventListener("abort", onAbort, { once: true });
    }
    if (request.onQueued !== undefined) {
      try {
        request.onQueued();
      } catch (error) {
        this.#logger?.warn("onQueued callback threw; ignored", { providerId: provider.id, err: error });
      }
    }
    return waiter.promise;
  }

  setStarred(workspaceId: string, starred: boolean): void {
    if (starred) this.#starred.add(workspaceId);
    else this.#starred.delete(workspaceId);
    const waiters = this.#byWorkspace.waiters(workspaceId);
    if (waiters.length === 0) return;
    const touched = new Set<ProviderState>();
    for (const waiter of waiters) {
      if (waiter.starred === starred) continue;
      waiter.provider.queue.move(waiter, starred);
      touched.add(waiter.provider);
    }
    for (const provider of touched) this.#pump(provider);
  }

  forgetWorkspace(workspaceId: string): void {
    this.setStarred(workspaceId, false);
  }

  isStarred(workspaceId: string): boolean {
    return this.#starred.has(workspaceId);
  }

  pauseUntil(providerId: string, untilEpochMs: number): void {
    const provider = this.#providers.get(providerId);
    if (provider === undefined) {
      throw unknownProviderError(providerId);
    }
    if (!Number.isFinite(untilEpochMs)) {
      throw new DispatchError(
        "invalid_request",
        `Expected \`untilEpochMs\` of provider "${providerId}" to be a finite epoch-ms number, got \`${untilEpochMs}\``,
      );
    }
    const now = this.#clock.now();
    if (this.#disposed || !(untilEpochMs > now)) return;
    if (provider.coolingUntil !== null && provider.coolingUntil >= untilEpochMs) return;
    provider.coolingUntil = untilEpochMs;
    provider.cancelCooling?.();
    provider.cancelCooling = this.#clock.setTimeout(() => this.#endCooling(provider), untilEpochMs - now);
  }

  snapshot(): ProviderSlotsSnapshot[] {
    const now = this.#clock.now();
    const agedBefore = now - this.#agingMs;
    return [...this.#providers.values()].map((provider) => ({
      providerId: provider.id,
      maxConcurrent: provider.limit,
      inFlight: provider.inFlight,
      coolingUntil: this.#cooling(provider, now) ? provider.coolingUntil : null,
      queue: provider.queue.ordered(agedBefore).map((w) => ({
        turnId: w.request.turnId ?? null,
        conversationId: w.request.conversationId ?? null,
        workspaceId: w.request.workspaceId,
        starred: w.starred,
        waitingMs: now - w.enqueuedAt,
      })),
    }));
  }

  /** Counts per provider without building the queue listing. */
  stats(): ProviderStats[] {
    return [...this.#providers.values()].map((p) => ({
      providerId: p.id,
      maxConcurrent: p.limit,
      inFlight: p.inFlight,
      queuedStarred: p.queue.liveCount(true),
      queuedUnstarred: p.queue.liveCount(false),
    }));
  }

  /** Leases currently held, across providers. */
  get leaseCount(): number {
    return this.#leases.size;
  }

  /**
   * The watchdog's pass (the interval timer calls it): aborts and releases leases silent past their
   * `stallTimeoutMs` (`stalled`) or held past `maxLeaseMs` (`lease_reclaimed`), and ends cooling that
   * has passed. O(leases + providers).
   */
  checkLeases(): void {
    const now = this.#clock.now();
    for (const verdict of overdueLeases(this.#leases, now, this.#maxLeaseMs)) {
      const { lease } = verdict;
      const fields = { providerId: lease.providerId, workspaceId: lease.workspaceId, turnId: lease.turnId };
      let reason: DispatchError;
      if (verdict.kind === "reclaimed") {
        const { heldMs } = verdict;
        this.#logger?.error("lease held longer than maxLeaseMs; reclaimed by the safety net", {
          ...fields,
          heldMs,
          maxLeaseMs: this.#maxLeaseMs,
        });
        this.#observer.reclaimed?.({ providerId: lease.providerId, heldMs });
        reason = reclaimedError(lease.providerId, heldMs, this.#maxLeaseMs);
      } else {
        this.#logger?.warn("model stream stalled; aborted", { ...fields, silentMs: verdict.silentMs });
        this.#observer.stalled?.({ providerId: lease.providerId, silentMs: verdict.silentMs });
        reason = stalledError(lease.providerId, verdict.stallTimeoutMs);
      }
      // Free the slot first, so whoever reacts to the abort already sees it free.
      lease.release();
      lease.abort(reason);
    }
    for (const provider of this.#providers.values()) {
      if (provider.coolingUntil !== null && provider.coolingUntil <= now) this.#pump(provider);
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#stopWatchdog();
    for (const provider of this.#providers.values()) {
      provider.cancelCooling?.();
      provider.cancelCooling = undefined;
      for (const waiter of provider.queue.drain()) {
        this.#unlink(waiter);
        waiter.reject(shutdownError());
      }
    }
  }

  #grant(
    provider: ProviderState,
    request: AcquireRequest,
    now: number,
    waitedMs: number,
    queued: boolean,
  ): ManagedLease {
    const lease = new ManagedLease({
      providerId: provider.id,
      workspaceId: request.workspaceId,
      turnId: request.turnId ?? null,
      grantedAt: now,
      stallTimeoutMs: request.stallTimeoutMs,
      now: this.#now,
      onRelease: this.#releaseLease,
    });
    provider.inFlight++;
    this.#leases.add(lease);
    if (this.#observer.granted !== undefined) {
      const starred = this.#starred.has(request.workspaceId);
      this.#observer.granted({
        providerId: provider.id,
        workspaceId: request.workspaceId,
        turnId: request.turnId ?? null,
        queued,
        waitedMs,
        starred,
        aged: queued && !starred && request.promptStartedAt < now - this.#agingMs,
      });
    }
    return lease;
  }

  #release(lease: ManagedLease): void {
    if (!this.#leases.delete(lease)) return;
    const provider = this.#providers.get(lease.providerId) as ProviderState;
    provider.inFlight--;
    this.#pump(provider);
  }

  /** Hands free slots straight to the chosen waiters, synchronously. */
  #pump(provider: ProviderState): void {
    if (this.#disposed || provider.queue.size === 0) return;
    const now = this.#clock.now();
    if (this.#cooling(provider, now)) return;
    const agedBefore = now - this.#agingMs;
    while (provider.inFlight < provider.limit) {
      const waiter = provider.queue.shift(agedBefore);
      if (waiter === undefined) break;
      this.#unlink(waiter);
      waiter.resolve(this.#grant(provider, waiter.request, now, now - waiter.enqueuedAt, true));
    }
  }

  /** Whether the provider is paused at `now`; a pause that has passed is cleared here. */
  #cooling(provider: ProviderState, now: number): boolean {
    if (provider.coolingUntil === null) return false;
    if (now < provider.coolingUntil) return true;
    provider.coolingUntil = null;
    provider.cancelCooling?.();
    provider.cancelCooling = undefined;
    return false;
  }

  /** The pause timer's callback; a timer that fires early re-arms for the rest. */
  #endCooling(provider: ProviderState): void {
    provider.cancelCooling = undefined;
    const until = provider.coolingUntil;
    const now = this.#clock.now();
    if (this.#disposed || until === null) return;
    if (now < until) {
      provider.cancelCooling = this.#clock.setTimeout(() => this.#endCooling(provider), until - now);
      return;
    }
    provider.coolingUntil = null;
    this.#pump(provider);
  }

  #abortWaiter(waiter: Waiter): void {
    if (!waiter.live) return;
    waiter.provider.queue.kill(waiter);
    this.#unlink(waiter);
    waiter.reject(waiter.request.signal?.reason);
  }

  /** Drops a waiter that left the queue from the workspace index and removes its abort listener. */
  #unlink(waiter: Waiter): void {
    this.#byWorkspace.delete(waiter.request.workspaceId, waiter);
    if (waiter.onAbort !== undefined) {
      waiter.request.signal?.removeEventListener("abort", waiter.onAbort);
      waiter.onAbort = undefined;
    }
  }
}
