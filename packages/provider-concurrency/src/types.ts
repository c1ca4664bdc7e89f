import { createServiceRef } from "@dispatch/kernel";

/** What a caller asks a slot for. */
export interface AcquireRequest {
  providerId: string;
  workspaceId: string;
  /** When the user's prompt arrived (epoch ms). Kept across retries so a retried call keeps its place. */
  promptStartedAt: number;
  signal?: AbortSignal;
  /** Shown in snapshots (`GET /providers`). */
  turnId?: string | null;
  conversationId?: string | null;
  /** A lease silent (no `touch()`) for this long is aborted with `stalled` and released. Undefined: no stall check. */
  stallTimeoutMs?: number;
  /**
   * Called at most once when no slot was free and the request was queued: synchronously inside
   * `acquire` by the in-memory manager, after the enqueue's round trip by the cluster-backed one.
   * Must not throw.
   */
  onQueued?: () => void;
}

/**
 * One granted slot. `release()` is idempotent. `signal` aborts when the lease is reclaimed by the
 * safety net (`maxLeaseMs`) or by the stall watchdog, so the holder can stop its stream.
 */
export interface Lease {
  readonly providerId: string;
  readonly signal: AbortSignal;
  /** Marks activity on the stream, resetting the stall clock. */
  touch(): void;
  release(): void;
}

/** A provider's queue and slots, as `GET /providers` and metrics show them. */
export interface ProviderSlotsSnapshot {
  providerId: string;
  maxConcurrent: number;
  inFlight: number;
  /** Epoch ms until which no new grants are made (a provider-given retry delay), or null. */
  coolingUntil: number | null;
  /** In grant order. */
  queue: Array<{
    turnId: string | null;
    conversationId: string | null;
    workspaceId: string;
    starred: boolean;
    waitingMs: number;
  }>;
}

/**
 * The concurrency manager: per-provider slots and a starred-first priority queue.
 * `acquire` rejects with DispatchErrors coded `provider_queue_full`, `unknown_provider`,
 * `invalid_request` (a non-finite `promptStartedAt`, a bad `stallTimeoutMs`) or `shutdown` (after
 * `dispose`), or with the abort signal's own reason when a waiter is aborted. A lease's `signal`
 * aborts with DispatchErrors coded `stalled` or `lease_reclaimed`.
 */
export interface ConcurrencyManager {
  /** Sets (or creates) a provider's limit; existing leases are kept. */
  setLimit(providerId: string, maxConcurrent: number): void;
  /** Resolves to a lease at once if a slot is free and nobody waits, else when the queue order reaches it. */
  acquire(request: AcquireRequest): Promise<Lease>;
  /** Moves that workspace's queued waiters at once (O(k log n) for k waiters) and grants freed slots. */
  setStarred(workspaceId: string, starred: boolean): void;
  /** Drops a deleted workspace from the starred set. */
  forgetWorkspace(workspaceId: string): void;
  isStarred(workspaceId: string): boolean;
  /** Pauses new grants for a provider until `untilEpochMs` (a provider-given retry delay). */
  pauseUntil(providerId: string, untilEpochMs: number): void;
  snapshot(): ProviderSlotsSnapshot[];
  /** Rejects every waiter and stops the watchdog. */
  dispose(): void;
}

/** The service the `provider-concurrency` extension provides. */
export const concurrencyManagerRef = createServiceRef<ConcurrencyManager>("provider-concurrency");
