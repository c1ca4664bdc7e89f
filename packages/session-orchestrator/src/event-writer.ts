import type { EventLog, NewEvent } from "@dispatch/conversation-store";
import type { ConversationEvent } from "@dispatch/wire";

/** Where a persisted event goes next (the hub and the bus). Must not throw. */
export type Publish = (conversationId: string, event: ConversationEvent) => void;

/** Options of one write. */
export interface WriteOptions {
  /** Runs after the events are stored and before they are published (for example: the turn's status). */
  afterPersist?: (stored: ConversationEvent[]) => unknown;
}

/**
 * Persists events, then publishes them. All writes of one conversation go through one promise chain,
 * so publish order equals `seq` order even when a turn's flush tick and its loop write at once. A
 * failed write rejects its own promise only; the chain carries on. The map holds only conversations
 * with a write in flight.
 */
export class EventWriter {
  readonly #log: Pick<EventLog, "append" | "appendMany">;
  readonly #publish: Publish;
  readonly #tails = new Map<string, Promise<void>>();

  constructor(log: Pick<EventLog, "append" | "appendMany">, publish: Publish) {
    this.#log = log;
    this.#publish = publish;
  }

  /** Queues a batch for the conversation; resolves with the stored events once they are published. */
  write(
    conversationId: string,
    events: readonly NewEvent[],
    options?: WriteOptions,
  ): Promise<ConversationEvent[]> {
    const previous = this.#tails.get(conversationId);
    const run = () => this.#persistAndPublish(conversationId, events, options);
    const result = previous === undefined ? run() : previous.then(run);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(conversationId, tail);
    void tail.then(() => {
      if (this.#tails.get(conversationId) === tail) this.#tails.delete(conversationId);
    });
    return result;
  }

  /** Resolves when every write queued so far for the conversation has settled. */
  async idle(conversationId: string): Promise<void> {
    await this.#tails.get(conversationId);
  }

  /** Conversations with a write in flight (for leak checks). */
  get pendingConversations(): number {
    return this.#tails.size;
  }

  async #persistAndPublish(
    conversationId: string,
    events: readonly NewEvent[],
    options: WriteOptions | undefined,
  ): Promise<ConversationEvent[]> {
    if (events.length === 0) return [];
    const stored =
      events.length === 1
        ? [await this.#log.append(conversationId, events[0] as NewEvent)]
        : await this.#log.appendMany(conversationId, events);
    let hookFailure: { error: unknown } | undefined;
    try {
      await options?.afterPersist?.(stored);
    } catch (error) {
      hookFailure = { error };
    }
    // Stored events are always published, even when the hook failed, so live subscribers see no gap.
    for (const event of stored) this.#publish(conversationId, event);
    if (hookFailure !== undefined) throw hookFailure.error;
    return stored;
  }
}
