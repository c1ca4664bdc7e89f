import type { ConversationEvent } from "@dispatch/wire";

/** A live receiver of one conversation's events. Its methods must not throw. */
export interface LiveListener {
  /** An event this host stored and published, in `seq` order. */
  receive(event: ConversationEvent): void;
  /**
   * Another host stored and published the conversation's events up to `seq` (the store's event
   * feed); they are to be read from the store. Optional: a listener that ignores it hears this
   * host's events only.
   */
  advanced?(seq: number): void;
}

/**
 * Live fan-out of persisted events to the subscriptions of each conversation. Delivery is synchronous
 * and in call order; the event writer calls `deliver` in `seq` order, so listeners see `seq` order.
 */
export class SubscriptionHub {
  readonly #byConversation = new Map<string, Set<LiveListener>>();
  #count = 0;

  /** Adds a listener; returns the function that removes it (idempotent). */
  add(conversationId: string, listener: LiveListener): () => void {
    let set = this.#byConversation.get(conversationId);
    if (!set) {
      set = new Set();
      this.#byConversation.set(conversationId, set);
    }
    set.add(listener);
    this.#count += 1;
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const current = this.#byConversation.get(conversationId);
      if (!current?.delete(listener)) return;
      this.#count -= 1;
      if (current.size === 0) this.#byConversation.delete(conversationId);
    };
  }

  /** Hands a persisted event to every listener of its conversation. */
  deliver(conversationId: string, event: ConversationEvent): void {
    const set = this.#byConversation.get(conversationId);
    if (!set) return;
    // A listener may remove itself (slow consumer) while we iterate; a Set tolerates that.
    for (const listener of set) listener.receive(event);
  }

  /** Tells the listeners of a conversation that another host has published up to `seq`. */
  advance(conversationId: string, seq: number): void {
    const set = this.#byConversation.get(conversationId);
    if (!set) return;
    for (const listener of set) listener.advanced?.(seq);
  }

  /** Tells every listener to look at the store again (announcements may have been missed). */
  advanceAll(): void {
    for (const set of this.#byConversation.values()) {
      for (const listener of set) listener.advanced?.(Number.MAX_SAFE_INTEGER);
    }
  }

  /** Listeners across all conversations (for leak checks). */
  get listenerCount(): number {
    return this.#count;
  }

  /** Listeners of one conversation. */
  listenersOf(conversationId: string): number {
    return this.#byConversation.get(conversationId)?.size ?? 0;
  }
}
