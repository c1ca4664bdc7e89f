import type { EventLog, GroupedOptions, NewEvent } from "@dispatch/conversation-store";
import { GroupCommit } from "@dispatch/conversation-store";
import type { ConversationEvent } from "@dispatch/wire";

/** Where a persisted event goes next (the hub and the bus). Must not throw. */
export type Publish = (conversationId: string, event: ConversationEvent) => void;

/** Queues `fn` in the store's group commit (`ConversationStore.grouped`). */
export type Grouped = <T>(fn: () => Promise<T>, options?: GroupedOptions) => Promise<T>;

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

/** What one write stored, and how its hook went. */
interface Persisted {
  stored: ConversationEvent[];
  hookFailure?: { error: unknown };
}

/**
 * Persists events through the store's group commit (issue 25), then publishes them: the writes asked
 * for during one turn of the event loop, by every turn of every conversation (and the store's other
 * grouped writers), are stored in one transaction at the end of it and published in the order they
 * were asked for, so publish order is `seq` order per conversation and a host streaming many turns
 * commits once per loop turn rather than once per event. A write that fails (a deleted conversation)
 * rejects alone; a group whose commit fails rejects every write in it and publishes nothing.
 */
export class EventWriter {
  readonly #log: Pick<EventLog, "append" | "appendMany">;
  readonly #publish: Publish;
  readonly #grouped: Grouped;
  /** Writes queued or committing, by conversation (for leak checks). */
  readonly #open = new Map<string, number>();

  /** Without `grouped` (unit tests over a plain event log) writes run one at a time, each on its own. */
  constructor(log: Pick<EventLog, "append" | "appendMany">, publish: Publish, grouped?: Grouped) {
    this.#log = log;
    this.#publish = publish;
    if (grouped !== undefined) this.#grouped = grouped;
    else {
      const alone = new GroupCommit((fn) => fn());
      this.#grouped = (fn, options) => alone.join(fn, options);
    }
  }

  /** Queues a batch for the conversation; resolves with the stored events once they are published. */
  write(conversationId: string, events: WriteEvents, options?: WriteOptions): Promise<ConversationEvent[]> {
    this.#open.set(conversationId, (this.#open.get(conversationId) ?? 0) + 1);
    // Without a hook a write is one append, atomic by itself (`appendMany` is a transaction of its
    // own): alone in its group it needs no group transaction.
    const atomic = options?.afterPersist === undefined;
    return this.#grouped(() => this.#persist(conversationId, events, options), { atomic }).then(
      (persisted) => {
        this.#close(conversationId);
        return this.#published(conversationId, persisted, options);
      },
      (error: unknown) => {
        this.#close(conversationId);
        throw error;
      },
    );
  }

  /** Conversations with a write queued or in flight (for leak checks). */
  get pendingConversations(): number {
    return this.#open.size;
  }

  async #persist(conversationId: string, given: WriteEvents, options?: WriteOptions): Promise<Persisted> {
    const events = typeof given === "function" ? given() : given;
    const stored =
      events.length === 0
        ? []
        : events.length === 1
          ? [await this.#log.append(conversationId, events[0] as NewEvent)]
          : await this.#log.appendMany(conversationId, events);
    const hook = options?.afterPersist;
    if (hook === undefined) return { stored };
    try {
      await hook(stored);
      return { stored };
    } catch (error) {
      return { stored, hookFailure: { error } };
    }
  }

  #published(conversationId: string, persisted: Persisted, options?: WriteOptions): ConversationEvent[] {
    options?.beforePublish?.();
    // Stored events are always published, even when the hook failed, so live subscribers see no gap.
    for (const event of persisted.stored) this.#publish(conversationId, event);
    if (persisted.hookFailure !== undefined) throw persisted.hookFailure.error;
    return persisted.stored;
  }

  #close(conversationId: string): void {
    const left = (this.#open.get(conversationId) ?? 1) - 1;
    if (left === 0) this.#open.delete(conversationId);
    else this.#open.set(conversationId, left);
  }
}
