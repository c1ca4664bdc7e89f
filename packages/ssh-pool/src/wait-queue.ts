/** Something that waits in a `WaitQueue`; lower tickets are served first. */
export interface Ticketed {
  readonly ticket: number;
}

/**
 * A bounded FIFO of waiters ordered by ticket. `push` appends a newcomer (tickets grow with
 * arrival, so the order holds) and is refused past the bound; `insert` puts back a waiter that was
 * already admitted (a refused channel) at its ticket's place, regardless of the bound, so being
 * refused never costs a waiter its turn. Removal is O(n); the queue holds at most `limit` newcomers.
 */
export class WaitQueue<T extends Ticketed> {
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

  /** Puts `item` back in ticket order, regardless of the bound. */
  insert(item: T): void {
    let index = this.#items.length;
    while (index > 0 && (this.#items[index - 1] as T).ticket > item.ticket) index -= 1;
    this.#items.splice(index, 0, item);
  }

  /** The first item without removing it. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Removes and returns the first item. */
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

  /** Removes and returns every item, first first. */
  drain(): T[] {
    const items = this.#items;
    this.#items = [];
    return items;
  }
}
