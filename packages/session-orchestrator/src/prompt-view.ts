import type { ModelMessage, ModelRequest } from "@dispatch/providers";

/** Older messages hidden behind a summary: every index below `through` but those in `shown`. */
export interface PromptCut {
  readonly through: number;
  /** Indices below `through` still sent word for word (the turn's own user message). */
  readonly shown: readonly number[];
  readonly summary: string;
}

/** The system prompt's section that stands in for the hidden messages. */
export function summarySection(summary: string): string {
  return [
    "## Earlier in this conversation",
    "The earlier messages of this conversation were replaced by this summary; the messages after it follow as usual.",
    "",
    summary.trim(),
  ].join("\n");
}

/**
 * The prompt of one turn: every message of the conversation (the stored ones, then this turn's as
 * they come), of which a cut may hide the older ones behind a summary in the system prompt. The
 * stored messages never change; only what is sent does.
 */
export class PromptView {
  readonly #base: ModelRequest;
  readonly #messages: ModelMessage[];
  #cut: PromptCut | undefined;

  /** `base` is the request without a summary; its `messages` become the view's first messages. */
  constructor(base: ModelRequest) {
    this.#base = { ...base, messages: [] };
    this.#messages = [...base.messages];
  }

  /** Every message of the conversation so far, hidden ones included. */
  get messages(): readonly ModelMessage[] {
    return this.#messages;
  }

  get cut(): PromptCut | undefined {
    return this.#cut;
  }

  /** Adds a message of this turn (always visible). */
  push(message: ModelMessage): void {
    this.#messages.push(message);
  }

  /** Hides what `cut` hides from now on. */
  apply(cut: PromptCut): void {
    this.#cut = cut;
  }

  /** Indices of the messages sent, in order. */
  visibleIndices(cut: PromptCut | undefined = this.#cut): number[] {
    const shown = new Set(cut?.shown ?? []);
    const through = cut?.through ?? 0;
    const out: number[] = [];
    for (let i = 0; i < this.#messages.length; i++) if (i >= through || shown.has(i)) out.push(i);
    return out;
  }

  /** The request to send now, or as it would be with `cut`. */
  request(cut: PromptCut | undefined = this.#cut): ModelRequest {
    const messages = this.visibleIndices(cut).map((i) => this.#messages[i] as ModelMessage);
    if (cut === undefined) return { ...this.#base, messages };
    const system = [this.#base.system, summarySection(cut.summary)].filter((s) => s && s !== "").join("\n\n");
    return { ...this.#base, system, messages };
  }
}
