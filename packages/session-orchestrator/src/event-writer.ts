import { AsyncLocalStorage } from "node:async_hooks";
import type { EventLog, NewEvent } from "@dispatch/conversation-store";
import type { ConversationEvent } from "@dispatch/wire";

/** Where a persisted event goes next (the hub and the bus). Must not throw. */
export type Publish = (conversationId: string, event: ConversationEvent) => void;

/** Runs `fn` as one store transaction (`ConversationStore.transaction`). */
export type Transact = <T>(fn: () => Promise<T>) => Promise<T>;

/** Options of one write. */
export interface WriteOptions {
  /**
   * Runs after the events are stored and before they are published (for example: the turn's
   * status); with a `Transact`, inside the same transaction as the events.
   */
  afterPersist?: (stored: ConversationEvent[]) => unknown;
  /** Runs once the write is committed, just before its events are published. Must not throw. */
  beforePublish?: () => void;
}

/** One write waiting in a batch (see `batch`). */
interface Collected {
  conversationId: string;
  events: readonly NewEvent[];
  done: PromiseWithResolvers<ConversationEvent[]>;
}

/**
 * Persists events, then publishes them. All writes of one conversation go through one promise chain,
 * so publish order equals `seq` order even when a turn's flush tick and its loop write at once. A
 * failed write rejects its own promise only; the chain carries on. The map holds only conversations
 * with a write in flight.
 *
 * Commits are shared where they can be (issue 25): a write with an `afterPersist` hook stores its
 * events and runs the hook in one transaction, and the writes made inside `batch` (the flush tick:
 * every streaming turn's text at once) are stored in one transaction instead of one each.
 */
export class EventWriter {
  readonly #log: Pick<EventLog, "append" | "appendMany">;
  readonly #publish: Publish;
  readonly #transact: Transact | undefined;
  readonly #tails = new Map<string, Promise<void>>();
  /** Set while `batch` runs its callback. */
  #collecting: Collected[] | undefined;
  /**
   * Runs a callback outside the caller's async context: a batch must not join a store transaction
   * that the code which armed the flush timer happened to be in.
   */
  readonly #outside = AsyncLocalStorage.snapshot();

  constructor(log: Pick<EventLog, "append" | "appendMany">, publish: Publish, transact?: Transact) {
    this.#log = log;
    this.#publish = publish;
    this.#transact = transact;
  }

  /** Queues a batch for the conversation; resolves with the stored events once they are published. */
  write(
    conversationId: string,
    events: readonly NewEvent[],
    options?: WriteOptions,
  ): Promise<ConversationEvent[]> {
    const previous = this.#tails.get(conversationId);
    if (
      this.#collecting !== undefined &&
      previous === undefined &&
      options === undefined &&
      events.length > 0
    ) {
      const done = Promise.withResolvers<ConversationEvent[]>();
      this.#collecting.push({ conversationId, events, done });
      this.#chain(conversationId, done.promise);
      return done.promise;
    }
    const run = () => this.#persistAndPublish(conversationId, events, options);
    const result = previous === undefined ? run() : previous.then(run);
    this.#chain(conversationId, result);
    return result;
  }

  /**
   * Runs `fn` (synchronous) and stores the writes it made in one transaction, then publishes them in
   * order. A write of a conversation that still has one in flight waits its turn as usual instead.
   * Without a `Transact`, or for a single write, each write commits on its own.
   */
  batch(fn: () => void): void {
    const collected: Collected[] = [];
    const outer = this.#collecting;
    this.#collecting = collected;
    try {
      fn();
    } finally {
      this.#collecting = outer;
    }
    if (collected.length === 0) return;
    if (this.#transact === undefined || collected.length === 1) {
      for (const entry of collected) {
        this.#persistAndPublish(entry.conversationId, entry.events, undefined).then(
          entry.done.resolve,
          entry.done.reject,
        );
      }
      return;
    }
    void this.#outside(() => this.#commitBatch(collected, this.#transact as Transact));
  }

  /** Resolves when every write queued so far for the conversation has settled. */
  async idle(conversationId: string): Promise<void> {
    await this.#tails.get(conversationId);
  }

  /** Conversations with a write in flight (for leak checks). */
  get pendingConversations(): number {
    return this.#tails.size;
  }

  #chain(conversationId: string, result: Promise<unknown>): void {
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(conversationId, tail);
    void tail.then(() => {
      if (this.#tails.get(conversationId) === tail) this.#tails.delete(conversationId);
    });
  }

  async #commitBatch(collected: readonly Collected[], transact: Transact): Promise<void> {
    const outcomes: Array<{ stored: ConversationEvent[] } | { error: unknown }> = [];
    try {
      await transact(async () => {
        outcomes.length = 0;
        for (const { conversationId, events } of collected) {
          // Each append is its own savepoint: one that fails (a deleted conversation) undoes only itself.
          try {
            outcomes.push({ stored: await this.#log.appendMany(conversationId, events) });
          } catch (error) {
            outcomes.push({ error });
          }
        }
      });
    } catch (error) {
      // Nothing was committed.
      for (const entry of collected) entry.done.reject(error);
      return;
    }
    for (const [index, entry] of collected.entries()) {
      const outcome = outcomes[index];
      if (outcome === undefined || "error" in outcome) {
        entry.done.reject(outcome?.error);
        continue;
      }
      for (const event of outcome.stored) this.#publish(entry.conversationId, event);
      entry.done.resolve(outcome.stored);
    }
  }

  async #persistAndPublish(
    conversationId: string,
    events: readonly NewEvent[],
    options: WriteOptions | undefined,
  ): Promise<ConversationEvent[]> {
    if (events.length === 0) return [];
    const hook = options?.afterPersist;
    let stored: ConversationEvent[] = [];
    let hookFailure: { error: unknown } | undefined;
    const persist = async () => {
      hookFailure = undefined;
      stored =
        events.length === 1
          ? [await this.#log.append(conversationId, events[0] as NewEvent)]
          : await this.#log.appendMany(conversationId, events);
      if (hook === undefined) return;
      try {
        await hook(stored);
      } catch (error) {
        hookFailure = { error };
      }
    };
    if (hook !== undefined && this.#transact !== undefined) await this.#transact(persist);
    else await persist();
    options?.beforePublish?.();
    // Stored events are always published, even when the hook failed, so live subscribers see no gap.
    for (const event of stored) this.#publish(conversationId, event);
    if (hookFailure !== undefined) throw hookFailure.error;
    return stored;
  }
}
