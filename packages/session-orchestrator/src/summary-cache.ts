import type { ModelMessage } from "@dispatch/providers";
import type { PromptCut, PromptView } from "./prompt-view.ts";

interface Entry {
  cut: PromptCut;
  /** Hash of the hidden messages' JSON, so a cut is only reused over the same messages. */
  hash: number | bigint;
  rate: number | undefined;
}

/** Conversations remembered, and summary characters kept at most (the oldest are dropped past either). */
const maxEntries = 1000;
const maxSummaryChars = 16 * 1024 * 1024;

function hashOf(messages: readonly ModelMessage[], through: number): number | bigint {
  return Bun.hash(JSON.stringify(messages.slice(0, through)));
}

/**
 * The latest compaction of each conversation, so the next turn starts from its summary instead of
 * summarising the whole history again (a rolling summary). Kept in memory per host: after a restart
 * the first compaction of a conversation summarises its older messages afresh.
 */
export class SummaryCache {
  readonly #entries = new Map<string, Entry>();
  #chars = 0;

  /** Applies the conversation's remembered cut to `view` when it still covers the same messages; returns the learnt token rate. */
  restore(conversationId: string, view: PromptView): number | undefined {
    const entry = this.#entries.get(conversationId);
    if (entry === undefined) return undefined;
    // most recently used last
    this.#entries.delete(conversationId);
    this.#entries.set(conversationId, entry);
    const { through } = entry.cut;
    if (through > 0 && view.messages.length >= through && hashOf(view.messages, through) === entry.hash)
      view.apply(entry.cut);
    return entry.rate;
  }

  /** Remembers the view's cut (if any) and the learnt rate. */
  remember(conversationId: string, view: PromptView, rate: number | undefined): void {
    const cut = view.cut;
    if (cut === undefined && rate === undefined) return;
    this.#drop(conversationId);
    const empty: PromptCut = { through: 0, shown: [], summary: "" };
    const kept = cut ?? empty;
    this.#entries.set(conversationId, { cut: kept, hash: hashOf(view.messages, kept.through), rate });
    this.#chars += kept.summary.length;
    while (this.#entries.size > maxEntries || this.#chars > maxSummaryChars) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#drop(oldest.value);
    }
  }

  #drop(conversationId: string): void {
    const entry = this.#entries.get(conversationId);
    if (entry === undefined) return;
    this.#chars -= entry.cut.summary.length;
    this.#entries.delete(conversationId);
  }
}
