import type { ConversationStore } from "@dispatch/conversation-store";

/** What one sweep did. */
export interface SweepReport {
  expired: number;
  /** Locks whose turn had already finished (its `turn.finished` was missed, e.g. across a restart). */
  orphaned: number;
}

/**
 * Removes expired locks, and locks whose turn is no longer active. The second part catches turns
 * that ended while nobody listened: at shutdown this extension stops before the orchestrator
 * interrupts the last turns, and a crash publishes nothing at all.
 */
export async function sweepLocks(store: ConversationStore, now: number): Promise<SweepReport> {
  const expired = await store.locks.sweepExpired(now);
  // Locks first, then active turns: a lock taken in between belongs to a turn the second read still sees.
  const held = [];
  for (const workspace of await store.workspaces.list()) held.push(...(await store.locks.list(workspace.id)));
  if (held.length === 0) return { expired, orphaned: 0 };
  const active = new Set((await store.turns.listUnfinished()).map((turn) => turn.id));
  let orphaned = 0;
  for (const turnId of new Set(held.map((lock) => lock.turnId))) {
    if (!active.has(turnId)) orphaned += await store.locks.releaseTurn(turnId);
  }
  return { expired, orphaned };
}
