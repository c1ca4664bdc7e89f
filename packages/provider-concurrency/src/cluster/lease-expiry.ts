import { DispatchError, type Logger } from "@dispatch/kernel";
import type { Clock } from "../clock.ts";
import { reclaimedError, stalledError } from "../concurrency-errors.ts";
import { overdueLeases } from "../lease-watchdog.ts";
import type { ConcurrencyObserver } from "../manager-options.ts";
import { type HeldLeases, stopLease } from "./held-leases.ts";
import type { SlotTable } from "./slot-table.ts";

/** The abort reason of a lease this host could not keep (its renewal did not get through in time). */
function lostError(providerId: string, ttlMs: number): DispatchError {
  return new DispatchError(
    "lease_reclaimed",
    `this host could not renew its slot of provider "${providerId}" within ${ttlMs} ms; the call was stopped so that the cluster's limit holds`,
    { details: { providerId, ttlMs } },
  );
}

/**
 * Renews this host's rows: a lease the table still has is valid for a TTL from when the renewal
 * was sent, one it no longer has was expired or taken back and is stopped. A failed renewal is
 * logged; the next tick retries it.
 */
export async function renewLeases(
  table: SlotTable,
  held: HeldLeases,
  ttlMs: number,
  clock: Clock,
  logger: Logger | undefined,
): Promise<void> {
  const sent = clock.now();
  // only leases known before the renewal is sent can be judged by its answer
  const before = held.entries();
  try {
    const alive = await table.renew(ttlMs);
    for (const [leaseId, one] of before) {
      if (alive.has(leaseId)) one.validUntil = sent + ttlMs;
      else if (!one.lease.released) stopLease(one.lease, lostError(one.lease.providerId, ttlMs));
    }
  } catch (error) {
    logger?.warn("could not renew this host's provider slots; retrying", { err: error });
  }
}

/** Stops every lease whose renewal did not get through before its rows could expire. */
export function stopUnrenewed(held: HeldLeases, now: number, ttlMs: number): void {
  for (const one of held.values()) {
    if (!one.lease.released && now >= one.validUntil) {
      stopLease(one.lease, lostError(one.lease.providerId, ttlMs));
    }
  }
}

/** Ends this host's stalled or over-long leases. */
export function stopOverdue(
  held: HeldLeases,
  now: number,
  maxLeaseMs: number,
  observer: ConcurrencyObserver,
): void {
  const mine = held.values().map((one) => one.lease);
  for (const verdict of overdueLeases(mine, now, maxLeaseMs)) {
    const { lease } = verdict;
    if (verdict.kind === "reclaimed") {
      observer.reclaimed?.({ providerId: lease.providerId, heldMs: verdict.heldMs });
      stopLease(lease, reclaimedError(lease.providerId, verdict.heldMs, maxLeaseMs));
    } else {
      observer.stalled?.({ providerId: lease.providerId, silentMs: verdict.silentMs });
      stopLease(lease, stalledError(lease.providerId, verdict.stallTimeoutMs));
    }
  }
}
