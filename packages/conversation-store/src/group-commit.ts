import { AsyncLocalStorage } from "node:async_hooks";

/** Runs `fn` as one store transaction (`ConversationStore.transaction`). */
export type Transact = <T>(fn: () => Promise<T>) => Promise<T>;

/** Options of one `grouped` call. */
export interface GroupedOptions {
  /**
   * `fn` is atomic by itself (one repository write): a group that holds only this call runs it
   * without a group transaction, one BEGIN and COMMIT fewer for a lone write.
   */
  atomic?: boolean;
}

interface Call {
  fn: () => unknown;
  atomic: boolean;
  done: PromiseWithResolvers<unknown>;
  result?: { value: unknown } | { error: unknown };
}

/**
 * The store's group commit (issue 25, `ConversationStore.grouped`): the calls made during one turn of
 * the event loop, by every caller, run in one transaction at the end of it, in the order they were
 * made. Each call resolves after COMMIT with what it returned, or rejects alone with what it threw
 * (what it wrote before the throw stays: each repository write is a savepoint of its own); a group
 * whose COMMIT fails rejects every call in it. One group commits at a time and calls made meanwhile
 * make the next, so a call made after another commits with it or after it: a turn's final event
 * commits no earlier than the usage its last model call settled.
 */
export class GroupCommit {
  readonly #transact: Transact;
  #queue: Call[] = [];
  #committing = false;
  #scheduled = false;
  /**
   * Runs a group outside the async context of whoever made its first call: a group must not join a
   * store transaction that its first caller happened to be in.
   */
  readonly #outside = AsyncLocalStorage.snapshot();
  readonly #flush = () => {
    this.#scheduled = false;
    void this.#outside(() => this.#commitNext());
  };

  constructor(transact: Transact) {
    this.#transact = transact;
  }

  /** Queues `fn` for the group of this loop turn; see the class. */
  join<T>(fn: () => T | Promise<T>, options?: GroupedOptions): Promise<T> {
    const done = Promise.withResolvers<unknown>();
    this.#queue.push({ fn, atomic: options?.atomic === true, done });
    this.#schedule();
    return done.promise as Promise<T>;
  }

  #schedule(): void {
    if (this.#scheduled || this.#committing || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }

  async #commitNext(): Promise<void> {
    const group = this.#queue;
    this.#queue = [];
    this.#committing = true;
    let failure: { error: unknown } | undefined;
    try {
      const [only] = group;
      if (group.length === 1 && only?.atomic) await this.#run(only);
      else await this.#transact(() => this.#runAll(group));
    } catch (error) {
      failure = { error };
    } finally {
      this.#committing = false;
    }
    for (const call of group) {
      const result = failure ?? call.result ?? { error: new Error("a grouped call did not run") };
      if ("value" in result) call.done.resolve(result.value);
      else call.done.reject(result.error);
    }
    this.#schedule();
  }

  async #runAll(group: readonly Call[]): Promise<void> {
    for (const call of group) await this.#run(call);
  }

  async #run(call: Call): Promise<void> {
    try {
      call.result = { value: await call.fn() };
    } catch (error) {
      call.result = { error };
    }
  }
}
