/** The part of an activity entry the merge reads. */
export interface IdEntry {
  id: string;
}

/** How many entries the page keeps (what `GET /activity` returns at most). */
export const keptEntries = 100;

/** The number part of an activity id `<boot>.<n>` (entries of one host process sort by it). */
function numberOf(id: string): number {
  return Number(id.slice(id.indexOf(".") + 1));
}

/**
 * Adds `incoming` (oldest first, as a stream delivers them) to `current` (newest first), dropping
 * ids already there, keeping at most `keptEntries`. Pure; returns a new array.
 */
export function mergeActivity<T extends IdEntry>(current: readonly T[], incoming: readonly T[]): T[] {
  const seen = new Set(current.map((e) => e.id));
  const fresh = incoming.filter((e) => !seen.has(e.id)).reverse();
  if (fresh.length === 0) return current.slice();
  const merged = [...fresh, ...current];
  const boot = merged[0]?.id.split(".")[0];
  // Entries of the same process newest first by number; another process's (before a restart) after.
  merged.sort((a, b) => {
    const aSame = a.id.startsWith(`${boot}.`);
    const bSame = b.id.startsWith(`${boot}.`);
    if (aSame !== bSame) return aSame ? -1 : 1;
    return numberOf(b.id) - numberOf(a.id);
  });
  return merged.slice(0, keptEntries);
}
