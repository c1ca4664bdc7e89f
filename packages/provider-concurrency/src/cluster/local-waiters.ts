import type { AcquireRequest, Lease } from "../types.ts";

/** A call of this host waiting in the cluster's queue. */
export interface LocalWaiter {
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

/**
 * This host's waiters by id, and the ids of those lately done with (bounded), so a grant's own
 * notification is not taken for a stray one.
 */
export class LocalWaiters {
  readonly #waiting = new Map<string, LocalWaiter>();
  readonly #settled = new Set<string>();
  #seq = 0;

  /** The arrival number of the next waiter (ties in the grant order go to the earlier). */
  nextSeq(): number {
    return ++this.#seq;
  }

  /** How many calls of this host wait. */
  get size(): number {
    return this.#waiting.size;
  }

  /** The waiter of that id, if it still waits. */
  get(waiterId: string): LocalWaiter | undefined {
    return this.#waiting.get(waiterId);
  }

  /** Whether the waiter of that id still waits. */
  has(waiterId: string): boolean {
    return this.#waiting.has(waiterId);
  }

  /** Adds a waiter. */
  add(waiter: LocalWaiter): void {
    this.#waiting.set(waiter.id, waiter);
  }

  /** Removes a waiter; false when it was no longer waiting. */
  delete(waiterId: string): boolean {
    return this.#waiting.delete(waiterId);
  }

  /** Forgets every waiter. */
  clear(): void {
    this.#waiting.clear();
  }

  /** The waiters, copied (the caller may remove some while it goes through them). */
  values(): LocalWaiter[] {
    return [...this.#waiting.values()];
  }

  /** The waiters' ids. */
  ids(): string[] {
    return [...this.#waiting.keys()];
  }

  /** How many of this host's calls wait on a provider. */
  countOf(providerId: string): number {
    let queued = 0;
    for (const waiter of this.#waiting.values()) if (waiter.request.providerId === providerId) queued += 1;
    return queued;
  }

  /** Copies a workspace's star onto its waiters. */
  setStarred(workspaceId: string, starred: boolean): void {
    for (const waiter of this.#waiting.values()) {
      if (waiter.request.workspaceId === workspaceId) waiter.starred = starred;
    }
  }

  /** This host's waiters of a provider in the cluster's grant order. */
  ordered(providerId: string, now: number, agingMs: number): LocalWaiter[] {
    const agedBefore = now - agingMs;
    const rank = (w: LocalWaiter) => (w.starred || w.request.promptStartedAt < agedBefore ? 0 : 1);
    return [...this.#waiting.values()]
      .filter((w) => w.request.providerId === providerId)
      .sort(
        (a, b) => rank(a) - rank(b) || a.request.promptStartedAt - b.request.promptStartedAt || a.seq - b.seq,
      );
  }

  /** Remembers a waiter that is done with (at most 10 000, oldest forgotten first). */
  settle(waiterId: string): void {
    this.#settled.add(waiterId);
    if (this.#settled.size > 10_000) {
      const oldest = this.#settled.values().next();
      if (!oldest.done) this.#settled.delete(oldest.value);
    }
  }

  /** Whether a waiter of that id was lately done with. */
  isSettled(waiterId: string): boolean {
    return this.#settled.has(waiterId);
  }
}

/** Detaches a waiter from its caller's abort signal. */
export function unlink(waiter: LocalWaiter): void {
  if (waiter.onAbort !== undefined) {
    waiter.request.signal?.removeEventListener("abort", waiter.onAbort);
    waiter.onAbort = undefined;
  }
}
