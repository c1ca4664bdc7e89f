import { type HeapEntry, servedBefore, WaiterHeap } from "./waiter-heap.ts";

/** What a provider queue needs from a waiter. */
export interface QueuedWaiter extends HeapEntry {
  /** Which class (heap) the waiter is in; mirrors its workspace's star. Written only by the queue. */
  starred: boolean;
  /** False once the waiter was served or aborted. Written only by the queue. */
  live: boolean;
}

/** Dead entries are compacted away once they outnumber live ones (and at least this many). */
const compactionMinimum = 64;

/**
 * One provider's waiters, served starred first, then oldest `promptStartedAt`, then arrival.
 *
 * Two heaps, one per class. An unstarred waiter whose `promptStartedAt` is before the aging cutoff
 * competes with starred waiters by (promptStartedAt, seq). Aged waiters are always a prefix of the
 * unstarred heap's order (the oldest ones), so comparing the two heap tops picks the right waiter
 * without moving anything when time passes.
 *
 * Invariants: every live waiter is in exactly one heap, the one its `starred` names. An aborted
 * waiter is a tombstone (`live === false`) left in its heap, dropped when it reaches a top or at the
 * next compaction; compaction runs when dead > max(live, compactionMinimum), so memory stays
 * O(live + compactionMinimum) and `kill` is amortised O(1).
 * Costs: `push`, `shift`, `move` O(log n); `kill` amortised O(1); `ordered` O(n log n).
 */
export class ProviderQueue<W extends QueuedWaiter> {
  readonly #starred = new WaiterHeap<W>();
  readonly #unstarred = new WaiterHeap<W>();
  #liveStarred = 0;
  #liveUnstarred = 0;
  #dead = 0;

  /** Live waiters. */
  get size(): number {
    return this.#liveStarred + this.#liveUnstarred;
  }

  /** Live waiters in one class (by workspace star, not aging). */
  liveCount(starred: boolean): number {
    return starred ? this.#liveStarred : this.#liveUnstarred;
  }

  /** Entries held, dead ones included (for memory-bound checks). */
  get heldEntries(): number {
    return this.#starred.size + this.#unstarred.size;
  }

  /** Queues a new waiter in the class its `starred` names. */
  push(waiter: W): void {
    waiter.live = true;
    if (waiter.starred) {
      this.#starred.push(waiter);
      this.#liveStarred++;
    } else {
      this.#unstarred.push(waiter);
      this.#liveUnstarred++;
    }
  }

  /** The live waiter to serve next, unstarred waiters older than `agedBefore` counting as starred. */
  peek(agedBefore: number): W | undefined {
    const starred = this.#liveTop(this.#starred);
    const unstarred = this.#liveTop(this.#unstarred);
    if (unstarred === undefined) return starred;
    if (starred === undefined) return unstarred;
    return unstarred.promptStartedAt < agedBefore && servedBefore(unstarred, starred) ? unstarred : starred;
  }

  /** Removes and returns the waiter `peek` names; it is marked not live. */
  shift(agedBefore: number): W | undefined {
    const next = this.peek(agedBefore);
    if (next === undefined) return undefined;
    // `peek` left the chosen waiter on top of its heap.
    if (next.starred) {
      this.#starred.pop();
      this.#liveStarred--;
    } else {
      this.#unstarred.pop();
      this.#liveUnstarred--;
    }
    next.live = false;
    return next;
  }

  /** Marks a live waiter dead (aborted) without searching the heap. */
  kill(waiter: W): void {
    if (!waiter.live) return;
    waiter.live = false;
    if (waiter.starred) this.#liveStarred--;
    else this.#liveUnstarred--;
    this.#dead++;
    if (this.#dead > compactionMinimum && this.#dead > this.size) this.#compact();
  }

  /** Moves a live waiter to the other class. */
  move(waiter: W, starred: boolean): void {
    if (!waiter.live || waiter.starred === starred) return;
    if (starred) {
      this.#unstarred.remove(waiter);
      this.#liveUnstarred--;
      waiter.starred = true;
      this.#starred.push(waiter);
      this.#liveStarred++;
    } else {
      this.#starred.remove(waiter);
      this.#liveStarred--;
      waiter.starred = false;
      this.#unstarred.push(waiter);
      this.#liveUnstarred++;
    }
  }

  /** Live waiters in the order they would be served at this aging cutoff. */
  ordered(agedBefore: number): W[] {
    const live: W[] = [];
    for (const w of this.#starred.entries()) if (w.live) live.push(w);
    for (const w of this.#unstarred.entries()) if (w.live) live.push(w);
    const first = (w: W) => w.starred || w.promptStartedAt < agedBefore;
    return live.sort((a, b) => {
      const fa = first(a);
      if (fa !== first(b)) return fa ? -1 : 1;
      return servedBefore(a, b) ? -1 : 1;
    });
  }

  /** Removes every live waiter and returns them (marked not live); the queue is empty afterwards. */
  drain(): W[] {
    const live = this.ordered(Number.NEGATIVE_INFINITY);
    for (const w of live) w.live = false;
    this.#starred.retain(() => false);
    this.#unstarred.retain(() => false);
    this.#liveStarred = 0;
    this.#liveUnstarred = 0;
    this.#dead = 0;
    return live;
  }

  /** The top of `heap` after dropping dead entries there. */
  #liveTop(heap: WaiterHeap<W>): W | undefined {
    let top = heap.peek();
    while (top !== undefined && !top.live) {
      heap.pop();
      this.#dead--;
      top = heap.peek();
    }
    return top;
  }

  #compact(): void {
    const live = (w: W) => w.live;
    this.#starred.retain(live);
    this.#unstarred.retain(live);
    this.#dead = 0;
  }
}
