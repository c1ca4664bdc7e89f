import { type CancelTimer, DispatchError } from "@dispatch/kernel";
import type { ProviderStats } from "../manager-options.ts";
import type { ProviderSlotsSnapshot } from "../types.ts";
import type { LocalWaiters } from "./local-waiters.ts";

/** A provider as this host knows it. */
export interface ProviderView {
  readonly id: string;
  limit: number;
  /** Leases held cluster-wide, as the last grant on this host counted them. */
  inFlight: number;
  /** Local epoch ms until which grants are paused (a provider-given retry delay), or null. */
  coolingUntil: number | null;
  cancelCooling: CancelTimer | undefined;
}

/** Throws unless `maxConcurrent` is an integer >= 1. */
export function checkLimit(providerId: string, maxConcurrent: number): void {
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) {
    throw new DispatchError(
      "invalid_request",
      `Expected \`maxConcurrent\` of provider "${providerId}" to be an integer >= 1, got \`${maxConcurrent}\``,
    );
  }
}

/** A provider's slots as this host sees them: leases cluster-wide (as last seen), its pause, this host's queue. */
export function snapshotOf(
  provider: ProviderView,
  waiters: LocalWaiters,
  now: number,
  agingMs: number,
): ProviderSlotsSnapshot {
  return {
    providerId: provider.id,
    maxConcurrent: provider.limit,
    inFlight: provider.inFlight,
    coolingUntil:
      provider.coolingUntil !== null && provider.coolingUntil > now ? provider.coolingUntil : null,
    queue: waiters.ordered(provider.id, now, agingMs).map((w) => ({
      turnId: w.request.turnId ?? null,
      conversationId: w.request.conversationId ?? null,
      workspaceId: w.request.workspaceId,
      starred: w.starred,
      waitingMs: now - w.enqueuedAt,
    })),
  };
}

/** A provider's counts: leases cluster-wide (as last seen), this host's waiters. */
export function statsOf(provider: ProviderView, waiters: LocalWaiters): ProviderStats {
  let starred = 0;
  let unstarred = 0;
  for (const w of waiters.values()) {
    if (w.request.providerId !== provider.id) continue;
    if (w.starred) starred += 1;
    else unstarred += 1;
  }
  return {
    providerId: provider.id,
    maxConcurrent: provider.limit,
    inFlight: provider.inFlight,
    queuedStarred: starred,
    queuedUnstarred: unstarred,
  };
}
