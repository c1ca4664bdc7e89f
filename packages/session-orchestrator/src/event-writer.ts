import { AsyncLocalStorage } from "node:async_hooks";
import type { EventLog, NewEvent } from "@dispatch/conversation-store";
import type { ConversationEvent } from "@dispatch/wire";

/** Where a persisted event goes next (the hub and the bus). Must not throw. */
export type Publish = (conversationId: string, event: ConversationEvent) => void;

/** Runs `fn` as one store transaction (`ConversationStore.transaction`). */
export type Transact = <T>(fn: () => Promise<T>) => Promise<T>;

/**
 * The events of one write, or a function that gives them when the write's turn in its group comes:
 * inside the transaction, after every write queued before it was persisted (a turn's final event
 * reads how its reply's write went).
 */
export type WriteEvents = readonly NewEvent[] | (() => readonly NewEvent[]);

/** Options of one write. */
export interface WriteOptions {
  /**
   * Runs after the events are stored and before they are published (for example: the turn's
   * status), in the same transaction as the events; with no events, a store write of its own that
   * joins the group commit (a turn's message).
   */
  afterPersist?: (stored: ConversationEvent[]) => unknown;
  /** Runs once the write is committed, just before its events are published. Must not throw. */
  beforePublish?: () => void;
}

/** One write waiting for its group. */
interface Pending {
  conversationId: string;
  events: WriteEvents;
  options: WriteOptions | undefined;
  done: PromiseWithResolvers<ConversationEvent[]>;
  stored?: ConversationEvent[];
  failure?: { error: unknown };
  hookFailure?: { error: unknown };
}

/**
 * Persists events, then publishes them, with group commit (issue 25): the writes asked for during
 * one turn of the event loop, by every turn of every conversation, are stored in one transaction at
 * the end of it, then published in the order they were asked for. So publish order is `seq` order
 * per conversation, and a host streaming many turns commits once per loop turn rather than once per
 * event. Only one group commits at a time; writes asked for meanwhile make the next. Each write's
 * events and its `afterPersist` hook are savepoints of the group's transaction: a write that fails
 * (a deleted conversation) rejects alone, the rest commit; a group whose commit fails rejects every
 * write in it and publishes nothing.
 */
export class EventWriter {
  readonly #log: Pick<EventLog, "append" | "appendMany">;
  readonly #publish: Publish;
  readonly #transact: Transact | undefined;
  #queue: Pending[] = [];
  #committing = false;
  #scheduled = false;
  /** Writes queued or committing, by conversation (for leak checks). */
  readonly #open = new Map<string, number>();
  /**
   * Runs a group outside the async context of whoever asked for its first write: a group must not
   * join a store transaction that its first writer happened to be in.
   */
  readonly #outside = AsyncLocalStorage.snapshot();
  readonly #flush = () => {
    this.#scheduled = false;
    void this.#outside(() => this.#commitNext());
  };

  /** Without `transact` (unit tests over a plain event log) each write commits on its own. */
  constructor(log: Pick<EventLog, "append" | "appendMany">, publish: Publish, transact?: Transact) {
    this.#log = log;
    this.#publish = publish;
    this.#transact = transact;
  }

  /** Queues a batch for the conversation; resolves with the stored events once they are published. */
  write(conversationId: string, events: WriteEvents, options?: WriteOptions): Promise<ConversationEvent[]> {
    const done = Promise.withResolvers<ConversationEvent[]>();
    this.#queue.push({ conversationId, events, options, done });
    this.#open.set(conversationId, (this.#open.get(conversationId) ?? 0) + 1);
    this.#schedule();
    return done.promise;
  }

  /** Conversations with a write queued or in flight (for leak checks). */
  get pendingConversations(): number {
    return this.#open.size;
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
    try {
      await this.#store(group);
    } catch (error) {
      // Nothing of the group was committed: none of it is published.
      for (const entry of group) entry.failure ??= { error };
      for (const entry of group) entry.stored = undefined;
    } finally {
      this.#committing = false;
    }
    for (const entry of group) this.#settle(entry);
    this.#schedule();
  }

  /** Stores a group: in one transaction, unless it is a single write without a hook. */
  async #store(group: readonly Pending[]): Promise<void> {
    const transact = this.#transact;
    const [only] = group;
    if (transact === undefined || (group.length === 1 && only?.options?.afterPersist === undefined)) {
      for (const entry of group) {
        try {
          await this.#persist(entry);
        } catch (error) {
          entry.failure = { error };
        }
      }
      return;
    }
    await transact(async () => {
      for (const entry of group) {
        // Each write is its own savepoint inside the group's transaction, so one that fails undoes
        // only itself.
        try {
          await this.#persist(entry);
        } catch (error) {
          entry.failure = { error };
        }
      }
    });
  }

  async #persist(entry: Pending): Promise<void> {
    const { conversationId } = entry;
    const events = typeof entry.events === "function" ? entry.events() : entry.events;
    entry.stored =
      events.length === 0
        ? []
        : events.length === 1
          ? [await this.#log.append(conversationId, events[0] as NewEvent)]
          : await this.#log.appendMany(conversationId, events);
    const hook = entry.options?.afterPersist;
    if (hook === undefined) return;
    try {
      await hook(entry.stored);
    } catch (error) {
      entry.hookFailure = { error };
    }
  }

  #settle(entry: Pending): void {
    const left = (this.#open.get(entry.conversationId) ?? 1) - 1;
    if (left === 0) this.#open.delete(entry.conversationId);
    else this.#open.set(entry.conversationId, left);
    if (entry.failure !== undefined || entry.stored === undefined) {
      entry.done.reject(entry.failure?.error);
      return;
    }
    entry.options?.beforePublish?.();
    // Stored events are always published, even when the hook failed, so live subscribers see no gap.
    for (const event of entry.stored) this.#publish(entry.conversationId, event);
    if (entry.hookFailure !== undefined) entry.done.reject(entry.hookFailure.error);
    else entry.done.resolve(entry.stored);
  }
}
