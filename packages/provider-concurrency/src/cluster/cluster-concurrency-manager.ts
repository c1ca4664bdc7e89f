import type { ConversationStore } from "@dispatch/conversation-store";
import { type CancelTimer, DispatchError, type Logger } from "@dispatch/kernel";
import { type Clock, systemClock } from "../clock.ts";
import {
  invalidRequest,
  queueFullError,
  shutdownError,
  unknownProviderError,
} from "../concurrency-errors.ts";
import { ManagedLease } from "../managed-lease.ts";
import {
  type ConcurrencyObserver,
  checkedTunables,
  type ManagerTunables,
  type ProviderStats,
} from "../manager-options.ts";
import type { AcquireRequest, ConcurrencyManager, Lease, ProviderSlotsSnapshot } from "../types.ts";
import { listenForGrants } from "./grant-listener.ts";
import { HeldLeases, stopLease } from "./held-leases.ts";
import { renewLeases, stopOverdue, stopUnrenewed } from "./lease-expiry.ts";
import { type LocalWaiter, LocalWaiters, unlink } from "./local-waiters.ts";
import { checkLimit, type ProviderView, snapshotOf, statsOf } from "./provider-view.ts";
import { type Grant, type PumpResult, SlotTable } from "./slot-table.ts";

/** Options of the cluster-backed manager. */
export interface ClusterConcurrencyOptions extends Partial<ManagerTunables> {
  store: Pick<ConversationStore, "database" | "transaction" | "notifications" | "instanceId">;
  /** How long a lease or waiter of a silent host lives (`cluster.instanceTimeoutMs`). */
  leaseTtlMs: number;
  clock?: Clock;
  logger?: Logger;
  observer?: ConcurrencyObserver;
}

/**
 * The concurrency manager for several hosts on one PostgreSQL store (DESIGN §17): every waiter and
 * every lease is a row, and a grant is one transaction that locks the provider's row, so the
 * cluster never holds more leases than the limit, and waiters are served starred (or aged) first,
 * then oldest prompt, then arrival, across all hosts. A grant to another host's waiter reaches it
 * through NOTIFY (a poll on the watchdog's tick catches a lost one). Each host renews its rows on
 * the tick; rows of a host that stopped renewing expire after `leaseTtlMs` (and are dropped at once
 * when the cluster declares it dead), and a lease whose renewal did not get through in time is
 * stopped by its own host before the rows could expire.
 */
export class ClusterConcurrencyManager implements ConcurrencyManager {
  readonly #table: SlotTable;
  readonly #store: ClusterConcurrencyOptions["store"];
  readonly #ttlMs: number;
  readonly #agingMs: number;
  readonly #maxQueue: number;
  readonly #maxLeaseMs: number;
  readonly #clock: Clock;
  readonly #logger: Logger | undefined;
  readonly #observer: ConcurrencyObserver;
  readonly #providers = new Map<string, ProviderView>();
  readonly #starred = new Set<string>();
  readonly #waiting = new LocalWaiters();
  readonly #leases = new HeldLeases();
  readonly #stopWatchdog: CancelTimer;
  #unlisten: (() => Promise<void>) | undefined;
  #ticking = false;
  #disposed = false;

  constructor(options: ClusterConcurrencyOptions) {
    const checked = checkedTunables(options);
    this.#agingMs = checked.agingMs;
    this.#maxQueue = checked.maxQueue;
    this.#maxLeaseMs = checked.maxLeaseMs;
    this.#ttlMs = options.leaseTtlMs;
    this.#store = options.store;
    this.#table = new SlotTable(options.store);
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger;
    this.#observer = options.observer ?? {};
    this.#stopWatchdog = this.#clock.setInterval(() => void this.tick(), checked.watchdogIntervalMs);
  }

  /** Starts hearing grants made by other hosts; call once before the first `acquire`. */
  async start(): Promise<void> {
    this.#unlisten = await listenForGrants(
      this.#store,
      (grant) => this.#granted(grant),
      // after a reconnect, grants may have been missed: the tick's poll picks them up
      () => void this.tick(),
    );
  }

  setLimit(providerId: string, maxConcurrent: number): void {
    checkLimit(providerId, maxConcurrent);
    const known = this.#providers.get(providerId);
    if (known === undefined) {
      this.#providers.set(providerId, {
        id: providerId,
        limit: maxConcurrent,
        inFlight: 0,
        coolingUntil: null,
        cancelCooling: undefined,
      });
    } else known.limit = maxConcurrent;
    this.#background("set a provider's limit", async () => {
      await this.#table.setLimit(providerId, maxConcurrent);
      await this.#pump(providerId);
    });
  }

  async acquire(request: AcquireRequest): Promise<Lease> {
    if (this.#disposed) throw shutdownError();
    const provider = this.#providers.get(request.providerId);
    if (provider === undefined) throw unknownProviderError(request.providerId);
    const invalid = invalidRequest(request);
    if (invalid !== undefined) throw invalid;
    const signal = request.signal;
    if (signal?.aborted) throw signal.reason;
    if (this.#waiting.countOf(provider.id) >= this.#maxQueue) {
      this.#observer.queueFull?.({ providerId: provider.id });
      throw queueFullError(provider.id, this.#maxQueue);
    }
    const { promise, resolve, reject } = Promise.withResolvers<Lease>();
    // an abort can reject it while the enqueue is still in flight, before the caller awaits it;
    // the caller still sees the rejection, this only keeps it from counting as unhandled
    promise.catch(() => {});
    const waiter: LocalWaiter = {
      id: `w_${Bun.randomUUIDv7()}`,
      seq: this.#waiting.nextSeq(),
      request,
      enqueuedAt: this.#clock.now(),
      starred: this.#starred.has(request.workspaceId),
      queued: false,
      resolve,
      reject,
      onAbort: undefined,
    };
    this.#waiting.add(waiter);
    if (signal !== undefined) {
      waiter.onAbort = () => this.#abortWaiter(waiter);
      signal.addEventListener("abort", waiter.onAbort, { once: true });
    }
    try {
      const result = await this.#table.enqueueAndPump(
        {
          id: waiter.id,
          providerId: provider.id,
          workspaceId: request.workspaceId,
          starred: waiter.starred,
          promptStartedAt: request.promptStartedAt,
          turnId: request.turnId ?? null,
          conversationId: request.conversationId ?? null,
        },
        provider.limit,
        this.#agingMs,
        this.#ttlMs,
      );
      this.#apply(provider.id, result);
    } catch (error) {
      if (this.#waiting.delete(waiter.id)) {
        unlink(waiter);
        reject(error);
      }
      return promise;
    }
    if (this.#waiting.has(waiter.id)) {
      waiter.queued = true;
      try {
        request.onQueued?.();
      } catch (error) {
        this.#logger?.warn("onQueued callback threw; ignored", { providerId: provider.id, err: error });
      }
    }
    return promise;
  }

  setStarred(workspaceId: string, starred: boolean): void {
    if (starred) this.#starred.add(workspaceId);
    else this.#starred.delete(workspaceId);
    this.#waiting.setStarred(workspaceId, starred);
    // every host hears the star (the store relays it), so each updating the rows is harmless
    this.#background("copy a star onto the waiters", () => this.#table.setStarred(workspaceId, starred));
  }

  forgetWorkspace(workspaceId: string): void {
    this.setStarred(workspaceId, false);
  }

  isStarred(workspaceId: string): boolean {
    return this.#starred.has(workspaceId);
  }

  pauseUntil(providerId: string, untilEpochMs: number): void {
    const provider = this.#providers.get(providerId);
    if (provider === undefined) throw unknownProviderError(providerId);
    const now = this.#clock.now();
    if (this.#disposed || !(untilEpochMs > now)) return;
    if (provider.coolingUntil !== null && provider.coolingUntil >= untilEpochMs) return;
    provider.coolingUntil = untilEpochMs;
    provider.cancelCooling?.();
    // one timer per paused provider: the pause's end is a moment a slot may be granted again
    provider.cancelCooling = this.#clock.setTimeout(() => {
      provider.cancelCooling = undefined;
      provider.coolingUntil = null;
      this.#background("grant after a pause", () => this.#pump(providerId));
    }, untilEpochMs - now);
    this.#background("pause a provider", () =>
      this.#table.pause(providerId, provider.limit, untilEpochMs - now),
    );
  }

  snapshot(): ProviderSlotsSnapshot[] {
    const now = this.#clock.now();
    return [...this.#providers.values()].map((provider) =>
      snapshotOf(provider, this.#waiting, now, this.#agingMs),
    );
  }

  /** Counts per provider: leases cluster-wide (as last seen), this host's waiters. */
  stats(): ProviderStats[] {
    return [...this.#providers.values()].map((p) => statsOf(p, this.#waiting));
  }

  /** Leases this host holds. */
  get leaseCount(): number {
    return this.#leases.size;
  }

  /**
   * The watchdog's pass: renew this host's rows (a lease no longer there, or not renewed in time, is
   * stopped), end stalled or over-long leases, pick up grants whose notification was lost, and run
   * the grant for every provider this host waits on (a dead host's rows may have expired).
   */
  async tick(): Promise<void> {
    if (this.#disposed || this.#ticking) return;
    this.#ticking = true;
    try {
      await renewLeases(this.#table, this.#leases, this.#ttlMs, this.#clock, this.#logger);
      const now = this.#clock.now();
      stopUnrenewed(this.#leases, now, this.#ttlMs);
      stopOverdue(this.#leases, now, this.#maxLeaseMs, this.#observer);
      if (this.#waiting.size > 0) {
        for (const grant of await this.#table.grantsFor(this.#waiting.ids())) this.#granted(grant);
        const providers = new Set(this.#waiting.values().map((w) => w.request.providerId));
        for (const providerId of providers) await this.#pump(providerId);
      }
    } catch (error) {
      this.#logger?.warn("provider slot watchdog pass failed", { err: error });
    } finally {
      this.#ticking = false;
    }
  }

  /** A host of the cluster died: its leases and waiters go now, and their slots are granted on. */
  async forgetInstance(instanceId: string): Promise<void> {
    if (this.#disposed) return;
    const providers = await this.#table.dropInstance(instanceId);
    for (const providerId of providers) {
      if (this.#providers.has(providerId)) await this.#pump(providerId);
    }
  }

  /** Stops every lease and waiter of this host at once (it lost its place in the cluster). */
  fence(reason: string): void {
    const error = new DispatchError(
      "shutdown",
      `this host left the cluster (${reason}); provider calls stopped`,
    );
    for (const held of this.#leases.values()) stopLease(held.lease, error);
    for (const waiter of this.#waiting.values()) {
      this.#waiting.delete(waiter.id);
      unlink(waiter);
      waiter.reject(error);
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#stopWatchdog();
    for (const provider of this.#providers.values()) provider.cancelCooling?.();
    for (const waiter of this.#waiting.values()) {
      unlink(waiter);
      waiter.reject(shutdownError());
    }
    this.#waiting.clear();
  }

  /** After `dispose`: stops listening and drops this host's rows (their slots go to other hosts). */
  async close(): Promise<void> {
    this.dispose();
    await this.#unlisten?.();
    this.#unlisten = undefined;
    const providers = await this.#table.dropInstance(this.#store.instanceId);
    for (const providerId of providers) {
      const provider = this.#providers.get(providerId);
      if (provider !== undefined)
        await this.#table.pump(providerId, provider.limit, this.#agingMs, this.#ttlMs);
    }
  }

  async #pump(providerId: string): Promise<void> {
    const provider = this.#providers.get(providerId);
    if (provider === undefined || this.#disposed) return;
    this.#apply(providerId, await this.#table.pump(providerId, provider.limit, this.#agingMs, this.#ttlMs));
  }

  #apply(providerId: string, result: PumpResult): void {
    const provider = this.#providers.get(providerId);
    if (provider !== undefined) provider.inFlight = result.inFlight;
    for (const grant of result.grants) this.#granted(grant);
  }

  /** A grant made by some host: this host's waiter gets its lease; a grant nobody here waits for is given back. */
  #granted(grant: Grant): void {
    if (grant.instanceId !== this.#store.instanceId || this.#waiting.isSettled(grant.waiterId)) return;
    const waiter = this.#waiting.get(grant.waiterId);
    if (waiter === undefined || this.#disposed) {
      // aborted (or this host shut down) while the grant was on its way: the slot goes back
      this.#waiting.settle(grant.waiterId);
      this.#background("give back an unwanted slot", () => this.#giveBack(grant));
      return;
    }
    this.#waiting.settle(waiter.id);
    this.#waiting.delete(waiter.id);
    unlink(waiter);
    const now = this.#clock.now();
    const request = waiter.request;
    const lease = new ManagedLease({
      providerId: request.providerId,
      workspaceId: request.workspaceId,
      turnId: request.turnId ?? null,
      grantedAt: now,
      stallTimeoutMs: request.stallTimeoutMs,
      now: () => this.#clock.now(),
      onRelease: (released) => this.#release(released),
    });
    // valid for a TTL from about now: the grant is at most one notification old
    this.#leases.add(grant.leaseId, { lease, validUntil: now + Math.floor((this.#ttlMs * 2) / 3) });
    const starred = this.#starred.has(request.workspaceId);
    this.#observer.granted?.({
      providerId: request.providerId,
      workspaceId: request.workspaceId,
      turnId: request.turnId ?? null,
      queued: waiter.queued,
      waitedMs: now - waiter.enqueuedAt,
      starred,
      aged: !starred && request.promptStartedAt < now - this.#agingMs,
    });
    waiter.resolve(lease);
  }

  #release(lease: ManagedLease): void {
    const leaseId = this.#leases.remove(lease);
    if (leaseId === undefined) return;
    const provider = this.#providers.get(lease.providerId);
    if (provider === undefined) return;
    this.#background("release a provider slot", async () => {
      this.#apply(
        provider.id,
        await this.#table.releaseAndPump(leaseId, provider.id, provider.limit, this.#agingMs, this.#ttlMs),
      );
    });
  }

  async #giveBack(grant: Grant): Promise<void> {
    const provider = this.#providers.get(grant.providerId);
    if (provider === undefined) return;
    const result = await this.#table.releaseAndPump(
      grant.leaseId,
      provider.id,
      provider.limit,
      this.#agingMs,
      this.#ttlMs,
    );
    this.#apply(provider.id, result);
  }

  #abortWaiter(waiter: LocalWaiter): void {
    if (!this.#waiting.delete(waiter.id)) return;
    unlink(waiter);
    waiter.reject(waiter.request.signal?.reason);
    // its row goes; if it was granted meanwhile, the grant finds no waiter and gives the slot back
    this.#background("remove an aborted waiter", async () => {
      if (!(await this.#table.removeWaiter(waiter.id))) {
        for (const grant of await this.#table.grantsFor([waiter.id])) this.#granted(grant);
      }
    });
  }

  /** Runs database work nobody awaits; a failure is logged (the tick retries what matters). */
  #background(what: string, work: () => Promise<unknown>): void {
    work().catch((error: unknown) => {
      if (this.#disposed && DispatchError.isInstance(error) && error.code === "store_closed") return;
      this.#logger?.warn(`could not ${what}`, { err: error });
    });
  }
}
