import { createExtensionPoint } from "@dispatch/kernel";
import type { ModelRequest } from "@dispatch/providers";

/** A model call about to be made, as a gate sees it. */
export interface ModelCall {
  readonly turnId: string;
  readonly conversationId: string;
  readonly workspaceId: string;
  readonly providerId: string;
  /** The model the request names. */
  readonly model: string;
  /** The request as it will be sent: read it (to estimate its size), never change it. */
  readonly request: ModelRequest;
  /** Aborts with the turn. */
  readonly signal: AbortSignal;
}

/** Tokens one model call used, as its provider reported them. */
export interface CallUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** The part of `inputTokens` read from the provider's prompt cache. */
  readonly cachedInputTokens: number;
}

/** How a call that a gate let through ended. */
export interface ModelCallOutcome {
  /** The provider's report; undefined when the call ended without one (failed, cancelled, stalled). */
  readonly usage: CallUsage | undefined;
  /** True once any of the answer (text or a tool call) arrived: the provider had read the prompt. */
  readonly answered: boolean;
}

/** A call a gate let through. */
export interface ModelCallPass {
  /** Called exactly once, when the call is over (on every exit path). A rejection is logged and counted. */
  settle(outcome: ModelCallOutcome): Promise<void>;
  /**
   * True when `settle` queues every write it makes in the store's group commit
   * (`ConversationStore.grouped`) before it returns: the turn then goes on without waiting for the
   * commit, and its later writes (the final event) commit with those writes or after them.
   */
  readonly groupedSettle?: boolean;
}

/** A call a gate refused: it is not made, and the turn fails with this code and message. */
export interface ModelCallRefusal {
  readonly refused: { readonly code: "budget_exceeded"; readonly message: string };
}

/**
 * Something that sees every model call of every turn before it is made and after it ended (the
 * budgets and usage records of the `usage` extension): it may refuse the call. Gates run in
 * activation order; when one refuses, the passes of those before it are settled with no usage.
 */
export interface ModelCallGate {
  /** Unique among gates (the contributing extension's id, say). */
  readonly id: string;
  /** Decides on one call. A throw fails the call (as a `stream_error`), like a refusal. */
  enter(call: ModelCall): Promise<ModelCallPass | ModelCallRefusal>;
}

/** The extension point through which model call gates are added. */
export const modelCallGatesPoint = createExtensionPoint<ModelCallGate>({
  id: "session-orchestrator.model-call-gates",
  keyOf: (gate) => gate.id,
});
