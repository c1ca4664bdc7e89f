import type { ConversationEvent } from "@dispatch/wire";

/** A live receiver of one conversation's events. `receive` must not throw. */
export interface LiveListener {
  receive(event: ConversationEvent): void;
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

  /** Listeners across all conversations (for leak checks). */
  get listenerCount(): number {
    return this.#count;
  }

  /** Listeners of one conversation. */
  listenersOf(conversationId: string): number {
    return this.#byConversation.get(conversationId)?.size ?? 0;
  }
}
