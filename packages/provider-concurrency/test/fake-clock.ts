import type { Clock } from "../src/clock.ts";

interface FakeTimer {
  at: number;
  every: number | undefined;
  fn: () => void;
  id: number;
}

/** A clock whose time moves only when a test calls `advance`, firing due timers in order. */
export class FakeClock implements Clock {
  #now: number;
  #timers = new Map<number, FakeTimer>();
  #nextId = 1;

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    return this.#add(fn, ms, undefined);
  }

  setInterval(fn: () => void, ms: number): () => void {
    return this.#add(fn, ms, ms);
  }

  /** Timers not yet cancelled (one-shots that fired are gone). */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running every timer that falls due, earliest first. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const t of this.#timers.values())
        if (t.at <= end && (next === undefined || t.at < next.at)) next = t;
      if (next === undefined) break;
      this.#now = Math.max(this.#now, next.at);
      if (next.every === undefined) this.#timers.delete(next.id);
      else next.at += next.every;
      next.fn();
    }
    this.#now = end;
  }

  #add(fn: () => void, ms: number, every: number | undefined): () => void {
    const id = this.#nextId++;
    this.#timers.set(id, {
      at: this.#now + Math.max(1, ms),
      every: every === undefined ? undefined : Math.max(1, every),
      fn,
      id,
    });
    return () => {
      this.#timers.delete(id);
    };
  }
}

/** Lets every pending promise reaction run (a macrotask turn drains the microtask queue). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
