/** The links a waiter carries for the workspace index; written only by the index. */
export interface WorkspaceLinks<W> {
  wsPrev: W | undefined;
  wsNext: W | undefined;
  wsLinked: boolean;
}

interface Bucket<W> {
  head: W | undefined;
  size: number;
}

/** Empty buckets are pruned once they are this many and outnumber the non-empty ones. */
const pruneMinimum = 1_024;

/**
 * The live waiters of each workspace, across providers, so that starring a workspace finds its k
 * waiters in O(k) instead of scanning every queue. An intrusive doubly linked list per workspace:
 * `add` and `delete` are O(1) and allocate nothing for a workspace seen before. A workspace whose
 * last waiter leaves keeps its (empty) bucket until a prune, which runs when empty buckets exceed
 * max(pruneMinimum, non-empty buckets): memory stays O(live waiters + pruneMinimum), and the prune's
 * O(buckets) cost is amortised over the deletes that emptied them.
 */
export class WorkspaceIndex<W extends WorkspaceLinks<W>> {
  readonly #buckets = new Map<string, Bucket<W>>();
  #empty = 0;

  add(workspaceId: string, waiter: W): void {
    if (waiter.wsLinked) return;
    let bucket = this.#buckets.get(workspaceId);
    if (bucket === undefined) {
      bucket = { head: undefined, size: 0 };
      this.#buckets.set(workspaceId, bucket);
    } else if (bucket.size === 0) this.#empty--;
    waiter.wsPrev = undefined;
    waiter.wsNext = bucket.head;
    if (bucket.head !== undefined) bucket.head.wsPrev = waiter;
    bucket.head = waiter;
    bucket.size++;
    waiter.wsLinked = true;
  }

  delete(workspaceId: string, waiter: W): void {
    const bucket = this.#buckets.get(workspaceId);
    if (!waiter.wsLinked || bucket === undefined) return;
    if (waiter.wsPrev === undefined) bucket.head = waiter.wsNext;
    else waiter.wsPrev.wsNext = waiter.wsNext;
    if (waiter.wsNext !== undefined) waiter.wsNext.wsPrev = waiter.wsPrev;
    waiter.wsPrev = undefined;
    waiter.wsNext = undefined;
    waiter.wsLinked = false;
    if (--bucket.size === 0) {
      this.#empty++;
      if (this.#empty > pruneMinimum && this.#empty > this.#buckets.size - this.#empty) this.#prune();
    }
  }

  /** A copy of the workspace's live waiters, so the caller may change them while going through. */
  waiters(workspaceId: string): W[] {
    const list: W[] = [];
    for (let w = this.#buckets.get(workspaceId)?.head; w !== undefined; w = w.wsNext) list.push(w);
    return list;
  }

  /** Buckets held, empty ones included (for memory-bound checks). */
  get bucketCount(): number {
    return this.#buckets.size;
  }

  #prune(): void {
    for (const [id, bucket] of this.#buckets) if (bucket.size === 0) this.#buckets.delete(id);
    this.#empty = 0;
  }
}
