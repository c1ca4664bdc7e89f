import type { ManagedLease } from "../managed-lease.ts";

/** A lease of this host, with the local time until which it is known to be valid. */
export interface HeldLease {
  lease: ManagedLease;
  validUntil: number;
}

/** This host's leases by lease id (the id of its row), and the id of each lease. */
export class HeldLeases {
  readonly #leases = new Map<string, HeldLease>();
  readonly #leaseIdOf = new Map<ManagedLease, string>();

  /** How many leases this host holds. */
  get size(): number {
    return this.#leases.size;
  }

  /** Adds a lease granted to this host. */
  add(leaseId: string, held: HeldLease): void {
    this.#leases.set(leaseId, held);
    this.#leaseIdOf.set(held.lease, leaseId);
  }

  /** Forgets a lease its holder gave back; its row's id, or undefined when it was not held here. */
  remove(lease: ManagedLease): string | undefined {
    const leaseId = this.#leaseIdOf.get(lease);
    if (leaseId === undefined) return undefined;
    this.#leaseIdOf.delete(lease);
    this.#leases.delete(leaseId);
    return leaseId;
  }

  /** The leases by row id, copied (stopping one removes it). */
  entries(): [string, HeldLease][] {
    return [...this.#leases];
  }

  /** The leases, copied (stopping one removes it). */
  values(): HeldLease[] {
    return [...this.#leases.values()];
  }
}

/** Releases first (the slot goes on at once), then aborts the holder's signal. */
export function stopLease(lease: ManagedLease, reason: unknown): void {
  lease.release();
  lease.abort(reason);
}
