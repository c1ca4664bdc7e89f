import type { ConversationStore } from "@dispatch/conversation-store";
import { type CancelTimer, DispatchError, type Logger } from "@dispatch/kernel";
import { type Clock, systemClock } from "../clock.ts";
import {
  invalidRequest,
  queueFullError,
  reclaimedError,
  shutdownError,
  stalledError,
  unknownProviderError,
} from "../concurrency-errors.ts";
import { overdueLeases } from "../lease-watchdog.ts";
import { ManagedLease } from "../managed-lease.ts";
import {
  type ConcurrencyObserver,
  checkedTunables,
  type ManagerTunables,
  type ProviderStats,
} from "../manager-options.ts";
import type { AcquireRequest, ConcurrencyManager, Lease, ProviderSlotsSnapshot } from "../types.ts";
import { type Grant, grantedChannel, type PumpResult, parseGrants, SlotTable } from "./slot-table.ts";

/** Options of the cluster-backed manager. */
export interface ClusterConcurrencyOptions extends Partial<ManagerTunables> {
  store: Pick<ConversationStore, "database" | "transaction" | "notifications" | "instanceId">;
  /** How long a lease or waiter of a silent host lives (`cluster.instanceTimeoutMs`). */
  leaseTtlMs: number;
  clock?: Clock;
  logger?: Logger;
  observer?: ConcurrencyObserver;
}

/** A call of this host waiting in the cluster's queue. */
interface LocalWaiter {
  readonly id: string;
  readonly seq: number;
  readonly request: AcquireRequest;
  readonly enqueuedAt: number;
  starred: boolean;
  /** No slot was free at once: it waited in the queue. */
  queued: boolean;
  resolve(lease: Lease): void;
  reject(reason: unknown): void;
  onAbort: (() => void) | undefined;
}

/** A provider as this host knows it. */
interface ProviderView {
  readonly id: string;
  limit: number;
  /** Leases held cluster-wide, as the last grant on this host counted them. */
  inFlight: number;
  /** Local epoch ms until which grants are paused (a provider-given retry delay), or null. */
  coolingUntil: number | null;
  cancelCooling: CancelTimer | undefined;
}

/** The abort reason of a lease this host could not keep (its renewal did not get through in time). */
function lostError(providerId: string, ttlMs: number): DispatchError {
  return new DispatchError(
    "lease_reclaimed",
    `this host could not renew its slot of provider "${providerId}" within ${ttlMs} ms; the call was stopped so that the cluster's limit holds`,
    { details: { providerId, ttlMs } },
  );
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
  readonly #waiting = new Map<string, LocalWaiter>();
  /** This host's leases by lease id, with the local time until which each is known to be valid. */
  readonly #leases = new Map<string, { lease: ManagedLease; validUntil: number }>();
  readonly #leaseIdOf = new Map<ManagedLease, string>();
  /** Waiters that got their slot lately (bounded), so the grant's own notification is not taken for a stray one. */
  readonly #settled = new Set<string>();
  readonly #stopWatchdog: CancelTimer;
  #unlisten: (() => Promise<void>) | undefined;
  #ticking = false;
  #seq = 0;
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
    const notifications = this.#store.notifications;
    if (notifications === undefined)
      throw new Error("the cluster-backed manager needs a store with notifications");
    this.#unlisten = await notifications.listen(
      grantedChannel,
      (payload) => {
        for (const grant of parseGrants(payload)) this.#granted(grant);
      },
      // after a reconnect, grants may have been missed: the tick's poll picks them up
      () => void this.tick(),
    );
  }

  setLimit(providerId: string, maxConcurrent: number): void {
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) {
      throw new DispatchError(
        "invalid_request",
        `Expected \`maxConcurrent\` of provider "${providerId}" to be an integer >= 1, got \`${maxConcurrent}\``,
      );
    }
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
    let queued = 0;
    for (const waiter of this.#waiting.values()) if (waiter.request.providerId === provider.id) queued += 1;
    if (queued >= this.#maxQueue) {
      this.#observer.queueFull?.({ providerId: provider.id });
      throw queueFullError(provider.id, this.#maxQueue);
    }
    const { promise, resolve, reject } = Promise.withResolvers<Lease>();
    // an abort can reject it while the enqueue is still in flight, before the caller awaits it;
    // the caller still sees the rejection, this only keeps it from counting as unhandled
    promise.catch(() => {});
    const waiter: LocalWaiter = {
      id: `w_${Bun.randomUUIDv7()}`,
      seq: ++this.#seq,
      request,
      enqueuedAt: this.#clock.now(),
      starred: this.#starred.has(request.workspaceId),
      queued: false,
      resolve,
      reject,
      onAbort: undefined,
    };
    this.#waiting.set(waiter.id, waiter);
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
        this.#unlink(waiter);
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
    for (const waiter of this.#waiting.values()) {
      if (waiter.request.workspaceId === workspaceId) waiter.starred = starred;
    }
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
    return [...this.#providers.values()].map((provider) => ({
      providerId: provider.id,
      maxConcurrent: provider.limit,
      inFlight: provider.inFlight,
      coolingUntil:
        provider.coolingUntil !== null && provider.coolingUntil > now ? provider.coolingUntil : null,
      queue: this.#ordered(provider.id, now).map((w) => ({
        turnId: w.request.turnId ?? null,
        conversationId: w.request.conversationId ?? null,
        workspaceId: w.request.workspaceId,
        starred: w.starred,
        waitingMs: now - w.enqueuedAt,
      })),
    }));
  }

  /** Counts per provider: leases cluster-wide (as last seen), this host's waiters. */
  stats(): ProviderStats[] {
    return [...this.#providers.values()].map((p) => {
      let starred = 0;
      let unstarred = 0;
      for (const w of this.#waiting.values()) {
        if (w.request.providerId !== p.id) continue;
        if (w.starred) starred += 1;
        else unstarred += 1;
      }
      return {
        providerId: p.id,
        maxConcurrent: p.limit,
        inFlight: p.inFlight,
        queuedStarred: starred,
        queuedUnstarred: unstarred,
      };
    });
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
      const sent = this.#clock.now();
      // only leases known before the renewal is sent can be judged by its answer
      const before = [...this.#leases];
      try {
        const alive = await this.#table.renew(this.#ttlMs);
        for (const [leaseId, held] of before) {
          if (alive.has(leaseId)) held.validUntil = sent + this.#ttlMs;
          else if (!held.lease.released)
            this.#stop(held.lease, lostError(held.lease.providerId, this.#ttlMs));
        }
      } catch (error) {
        this.#logger?.warn("could not renew this host's provider slots; retrying", { err: error });
      }
      const now = this.#clock.now();
      for (const held of [...this.#leases.values()]) {
        if (!held.lease.released && now >= held.validUntil) {
          this.#stop(held.lease, lostError(held.lease.providerId, this.#ttlMs));
        }
      }
      this.#checkOverdue(now);
      if (this.#waiting.size > 0) {
        for (const grant of await this.#table.grantsFor([...this.#waiting.keys()])) this.#granted(grant);
        const providers = new Set([...this.#waiting.values()].map((w) => w.request.providerId));
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
    for (const held of [...this.#leases.values()]) this.#stop(held.lease, error);
    for (const waiter of [...this.#waiting.values()]) {
      this.#waiting.delete(waiter.id);
      this.#unlink(waiter);
      waiter.reject(error);
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#stopWatchdog();
    for (const provider of this.#providers.values()) provider.cancelCooling?.();
    for (const waiter of [...this.#waiting.values()]) {
      this.#unlink(waiter);
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
    if (grant.instanceId !== this.#store.instanceId || this.#settled.has(grant.waiterId)) return;
    const waiter = this.#waiting.get(grant.waiterId);
    if (waiter === undefined || this.#disposed) {
      // aborted (or this host shut down) while the grant was on its way: the slot goes back
      this.#settle(grant.waiterId);
      this.#background("give back an unwanted slot", () => this.#giveBack(grant));
      return;
    }
    this.#settle(waiter.id);
    this.#waiting.delete(waiter.id);
    this.#unlink(waiter);
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
    this.#leases.set(grant.leaseId, { lease, validUntil: now + Math.floor((this.#ttlMs * 2) / 3) });
    this.#leaseIdOf.set(lease, grant.leaseId);
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
    const leaseId = this.#leaseIdOf.get(lease);
    if (leaseId === undefined) return;
    this.#leaseIdOf.delete(lease);
    this.#leases.delete(leaseId);
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

  /** Remembers a waiter that is done with (at most 10 000, oldest forgotten first). */
  #settle(waiterId: string): void {
    this.#settled.add(waiterId);
    if (this.#settled.size > 10_000) {
      const oldest = this.#settled.values().next();
      if (!oldest.done) this.#settled.delete(oldest.value);
    }
  }

  #abortWaiter(waiter: LocalWaiter): void {
    if (!this.#waiting.delete(waiter.id)) return;
    this.#unlink(waiter);
    waiter.reject(waiter.request.signal?.reason);
    // its row goes; if it was granted meanwhile, the grant finds no waiter and gives the slot back
    this.#background("remove an aborted waiter", async () => {
      if (!(await this.#table.removeWaiter(waiter.id))) {
        for (const grant of await this.#table.grantsFor([waiter.id])) this.#granted(grant);
      }
    });
  }

  #unlink(waiter: LocalWaiter): void {
    if (waiter.onAbort !== undefined) {
      waiter.request.signal?.removeEventListener("abort", waiter.onAbort);
      waiter.onAbort = undefined;
    }
  }

  /** Releases first (the slot goes on at once), then aborts the holder's signal. */
  #stop(lease: ManagedLease, reason: unknown): void {
    lease.release();
    lease.abort(reason);
  }

  #checkOverdue(now: number): void {
    const mine = [...this.#leases.values()].map((held) => held.lease);
    for (const verdict of overdueLeases(mine, now, this.#maxLeaseMs)) {
      const { lease } = verdict;
      if (verdict.kind === "reclaimed") {
        this.#observer.reclaimed?.({ providerId: lease.providerId, heldMs: verdict.heldMs });
        this.#stop(lease, reclaimedError(lease.providerId, verdict.heldMs, this.#maxLeaseMs));
      } else {
        this.#observer.stalled?.({ providerId: lease.providerId, silentMs: verdict.silentMs });
        this.#stop(lease, stalledError(lease.providerId, verdict.stallTimeoutMs));
      }
    }
  }

  /** This host's waiters of a provider in the cluster's grant order. */
  #ordered(providerId: string, now: number): LocalWaiter[] {
    const agedBefore = now - this.#agingMs;
    const rank = (w: LocalWaiter) => (w.starred || w.request.promptStartedAt < agedBefore ? 0 : 1);
    return [...this.#waiting.values()]
      .filter((w) => w.request.providerId === providerId)
      .sort(
        (a, b) => rank(a) - rank(b) || a.request.promptStartedAt - b.request.promptStartedAt || a.seq - b.seq,
      );
  }

  /** Runs database work nobody awaits; a failure is logged (the tick retries what matters). */
  #background(what: string, work: () => Promise<unknown>): void {
    work().catch((error: unknown) => {
      if (this.#disposed && DispatchError.isInstance(error) && error.code === "store_closed") return;
      this.#logger?.warn(`could not ${what}`, { err: error });
    });
  }
}
