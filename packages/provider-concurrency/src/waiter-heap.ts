/** What the heap needs from an entry: its sort key and a slot where the heap keeps its position. */
export interface HeapEntry {
  readonly promptStartedAt: number;
  /** Unique per manager, increasing in arrival order; makes the order total without relying on sort stability. */
  readonly seq: number;
  /** Position in the heap's array, or -1 when in no heap. Written only by the heap. */
  heapIndex: number;
}

/** The grant order within one class: oldest `promptStartedAt` first, then arrival (`seq`). A strict total order. */
export function servedBefore(a: HeapEntry, b: HeapEntry): boolean {
  return a.promptStartedAt < b.promptStartedAt || (a.promptStartedAt === b.promptStartedAt && a.seq < b.seq);
}

/**
 * An indexed binary min-heap ordered by `servedBefore`.
 *
 * Invariant: for every i > 0, `servedBefore(items[parent(i)], items[i])`, and `items[i].heapIndex === i`.
 * An entry is in at most one heap at a time.
 * Costs: `push`, `pop`, `remove` O(log n); `peek`, `size` O(1); `retain` O(n).
 */
export class WaiterHeap<T extends HeapEntry> {
  #items: T[] = [];

  /** Number of entries. */
  get size(): number {
    return this.#items.length;
  }

  /** The first entry in grant order, or undefined. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Adds an entry that is in no heap. */
  push(entry: T): void {
    entry.heapIndex = this.#items.length;
    this.#items.push(entry);
    this.#up(entry.heapIndex);
  }

  /** Removes and returns the first entry in grant order. */
  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    if (top === undefined) return undefined;
    const last = items.pop() as T;
    if (last !== top) {
      items[0] = last;
      last.heapIndex = 0;
      this.#down(0);
    }
    top.heapIndex = -1;
    return top;
  }

  /** Removes `entry` if it is in this heap; returns whether it was. */
  remove(entry: T): boolean {
    const items = this.#items;
    const index = entry.heapIndex;
    if (items[index] !== entry) return false;
    const last = items.pop() as T;
    entry.heapIndex = -1;
    if (last !== entry) {
      items[index] = last;
      last.heapIndex = index;
      // The moved entry may belong above or below its new place, never both.
      if (!this.#up(index)) this.#down(index);
    }
    return true;
  }

  /** Keeps only the entries `keep` accepts and restores the heap in O(n) (bottom-up heapify). */
  retain(keep: (entry: T) => boolean): void {
    const kept: T[] = [];
    for (const entry of this.#items) {
      if (keep(entry)) {
        entry.heapIndex = kept.length;
        kept.push(entry);
      } else entry.heapIndex = -1;
    }
    this.#items = kept;
    for (let i = (kept.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  /** The entries in heap (not grant) order; do not mutate. */
  entries(): readonly T[] {
    return this.#items;
  }

  /** Moves the entry at `index` up until its parent comes first; returns whether it moved. */
  #up(index: number): boolean {
    const items = this.#items;
    const entry = items[index] as T;
    const start = index;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (!servedBefore(entry, parent)) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = entry;
    entry.heapIndex = index;
    return index !== start;
  }

  #down(index: number): void {
    const items = this.#items;
    const length = items.length;
    const entry = items[index] as T;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      let childEntry = items[left] as T;
      if (right < length && servedBefore(items[right] as T, childEntry)) {
        child = right;
        childEntry = items[right] as T;
      }
      if (!servedBefore(childEntry, entry)) break;
      items[index] = childEntry;
      childEntry.heapIndex = index;
      index = child;
    }
    items[index] = entry;
    entry.heapIndex = index;
  }
}
