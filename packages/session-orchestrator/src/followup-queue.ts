import type { ConversationStore } from "@dispatch/conversation-store";
import { DispatchError, type Logger } from "@dispatch/kernel";

/** What the follow-up queue needs of the orchestrator. */
export interface FollowupQueueDeps {
  store: Pick<ConversationStore, "followups" | "grouped">;
  logger: Logger;
  startTurn(input: {
    conversationId: string;
    text: string;
    followupId?: string;
    refuseIfQueued?: boolean;
  }): Promise<{ turnId: string; messageId: string }>;
  /** True while the conversation cannot start a follow-up: a turn of it is active, or the host closes. */
  busy(conversationId: string): boolean;
}

/**
 * Follow-ups (DESIGN §5): a message posted while its conversation is busy is stored and runs as a
 * later turn, in order; a restart keeps it.
 */
export class FollowupQueue {
  readonly #deps: FollowupQueueDeps;

  constructor(deps: FollowupQueueDeps) {
    this.#deps = deps;
  }

  /**
   * Posts a follow-up: it starts a turn now when the conversation is idle and nothing is queued
   * before it, otherwise it waits (stored, so a restart keeps it) and runs as a later turn, in order.
   */
  async queue(input: {
    conversationId: string;
    text: string;
  }): Promise<{ queued: false; turnId: string; messageId: string } | { queued: true; messageId: string }> {
    // The claim itself refuses while follow-ups are queued: one write, where a look at the queue
    // first was a read of its own on every message (issue 25).
    try {
      return { queued: false, ...(await this.#deps.startTurn({ ...input, refuseIfQueued: true })) };
    } catch (error) {
      if (!DispatchError.isInstance(error) || error.code !== "conversation_busy") throw error;
    }
    const queued = await this.#deps.store.followups.enqueue(input);
    // the active turn may have ended between the busy answer and the enqueue
    void this.drain(input.conversationId);
    return { queued: true, messageId: queued.id };
  }

  /** Starts the next queued follow-up of an idle conversation (no-op while a turn is active). */
  async drain(conversationId: string): Promise<void> {
    if (this.#deps.busy(conversationId)) return;
    const { store } = this.#deps;
    const { followups } = store;
    // Every turn's end asks: in the group commit, the read joins the other turns' writes of its loop
    // turn instead of being a read transaction of its own.
    const next = await store.grouped(() => followups.peek(conversationId), { atomic: true });
    if (next === undefined) return;
    try {
      await this.#deps.startTurn({ conversationId, text: next.text, followupId: next.id });
    } catch (error) {
      const code = DispatchError.isInstance(error) ? error.code : undefined;
      // busy or taken: the turn that won drains the rest when it ends; refused now: try at its end
      if (code === "conversation_busy" || code === "conflict" || code === "shutting_down") return;
      this.#deps.logger.error("a queued follow-up could not start; it is dropped", {
        conversationId,
        messageId: next.id,
        err: error,
      });
      await followups.remove(next.id);
      void this.drain(conversationId);
    }
  }
}
