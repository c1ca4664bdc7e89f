import type { ManagedLease } from "./managed-lease.ts";

/** The watchdog's verdict on one lease. */
export type LeaseVerdict =
  /** Held longer than `maxLeaseMs`: the safety net takes the slot back (a bug somewhere). */
  | { kind: "reclaimed"; lease: ManagedLease; heldMs: number }
  /** Nothing for longer than the lease's `stallTimeoutMs`: the stream is aborted. */
  | { kind: "stalled"; lease: ManagedLease; silentMs: number; stallTimeoutMs: number };

/**
 * The leases the watchdog must end at `now`. Age wins over silence, so a lease that is both is
 * reported once, as reclaimed. O(leases); the caller acts on the list, so ending a lease cannot
 * disturb the scan.
 */
export function overdueLeases(
  leases: Iterable<ManagedLease>,
  now: number,
  maxLeaseMs: number,
): LeaseVerdict[] {
  const verdicts: LeaseVerdict[] = [];
  for (const lease of leases) {
    const heldMs = now - lease.grantedAt;
    const silentMs = now - lease.lastTouch;
    if (heldMs > maxLeaseMs) verdicts.push({ kind: "reclaimed", lease, heldMs });
    else if (lease.stallTimeoutMs !== undefined && silentMs > lease.stallTimeoutMs)
      verdicts.push({ kind: "stalled", lease, silentMs, stallTimeoutMs: lease.stallTimeoutMs });
  }
  return verdicts;
}
