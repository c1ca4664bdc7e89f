import { hostScope } from "./budgets.ts";

/** What one settled call writes. */
export interface SettleWrite {
  /** The reservation row to delete, when daily budgets hold one. */
  release?: string;
  /** The `usage_calls` row, when the call is charged. */
  call?: Record<string, unknown>;
  /** Tokens to add to `usage_daily` rows. */
  daily: ReadonlyArray<DailyCharge>;
}

/** Tokens added to one `usage_daily` row. */
export interface DailyCharge {
  scope: string;
  day: string;
  tokens: number;
}

/** Stores a batch of settles as one transaction; rejects when none of it was stored. */
export type StoreSettles = (writes: readonly SettleWrite[], daily: readonly DailyCharge[]) => Promise<void>;

/**
 * Settles the model calls that end in one turn of the event loop in one transaction (issue 25), on
 * Postgres (on SQLite each settle joins the store's group commit instead): a settle was a commit of
 * its own per call, the most frequent commit of a host running 64 turns at once. The daily rows are charged once per batch, summed per scope and day, host first and then
 * the workspaces in order: the order a reservation locks them in, so two hosts' batches and
 * reservations never wait on each other in a circle (Postgres). A batch whose transaction fails
 * rejects every settle in it; none is half recorded.
 */
export class SettleBatch {
  readonly #store: StoreSettles;
  #pending: Array<{ write: SettleWrite; done: PromiseWithResolvers<void> }> = [];

  constructor(store: StoreSettles) {
    this.#store = store;
  }

  /** Resolves once the call's writes are committed with the rest of its batch. */
  settle(write: SettleWrite): Promise<void> {
    const done = Promise.withResolvers<void>();
    if (this.#pending.length === 0) setImmediate(this.#flush);
    this.#pending.push({ write, done });
    return done.promise;
  }

  readonly #flush = (): void => {
    const batch = this.#pending;
    this.#pending = [];
    const writes = batch.map((entry) => entry.write);
    this.#store(writes, summedDaily(writes)).then(
      () => {
        for (const entry of batch) entry.done.resolve();
      },
      (error: unknown) => {
        for (const entry of batch) entry.done.reject(error);
      },
    );
  };
}

/** The batch's daily charges, one per row, in lock order. */
export function summedDaily(writes: readonly SettleWrite[]): DailyCharge[] {
  const rows = new Map<string, DailyCharge>();
  for (const write of writes) {
    for (const charge of write.daily) {
      const key = `${charge.scope}\u0000${charge.day}`;
      const row = rows.get(key);
      if (row === undefined) rows.set(key, { ...charge });
      else row.tokens += charge.tokens;
    }
  }
  const rank = (scope: string) => (scope === hostScope ? 0 : 1);
  return [...rows.values()].sort(
    (a, b) =>
      rank(a.scope) - rank(b.scope) ||
      (a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : 0) ||
      (a.day < b.day ? -1 : a.day > b.day ? 1 : 0),
  );
}
