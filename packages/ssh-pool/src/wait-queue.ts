/**
 * A bounded FIFO of waiters. `unshift` (a waiter put back after a refused channel) may exceed the
 * bound by design: that waiter was already admitted. Removal by identity is O(n); the queue holds
 * at most `limit` entries, and removal only happens on abort or timeout.
 */
export class WaitQueue<T> {
  readonly limit: number;
  #items: T[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`Expected \`limit\` to be an integer >= 1, got \`${limit}\``);
    }
    this.limit = limit;
  }

  get size(): number {
    return this.#items.length;
  }

  /** Appends `item`; false when the queue is full. */
  push(item: T): boolean {
    if (this.#items.length >= this.limit) return false;
    this.#items.push(item);
    return true;
  }

  /** Puts `item` first, regardless of the bound. */
  unshift(item: T): void {
    this.#items.unshift(item);
  }

  /** The oldest item without removing it. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    return this.#items.shift();
  }

  /** Removes `item`; false when it was not queued. */
  remove(item: T): boolean {
    const index = this.#items.indexOf(item);
    if (index === -1) return false;
    this.#items.splice(index, 1);
    return true;
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const items = this.#items;
    this.#items = [];
    return items;
  }
}
