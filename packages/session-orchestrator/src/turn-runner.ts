import type { LockRepository, NewEvent } from "@dispatch/conversation-store";
import { createExtensionPoint, type Logger } from "@dispatch/kernel";
import type { Lease } from "@dispatch/provider-concurrency";
import type { ProvidersService, ToolSpec } from "@dispatch/providers";
import type { Conversation, Message, MessagePart, Workspace } from "@dispatch/wire";
import type { ToolDefinition } from "./types.ts";

/** The parts of a conversation a turn uses; none of them can change after the conversation is created. */
export type ConversationInfo = Pick<Conversation, "id" | "workspaceId" | "provider" | "model" | "runner">;

/** An event a runner emits; the orchestrator adds the turn id and the next `seq`. */
export type RunnerEvent = Omit<NewEvent, "turnId">;

/** The tools a runner may offer its agent: the registered ones, as the model sees them. */
export interface RunnerTools {
  list(): ToolDefinition[];
  /** The tool as a model API sees it (JSON schema of its input). */
  specOf(tool: ToolDefinition): ToolSpec;
  get(name: string): ToolDefinition | undefined;
}

/**
 * Everything a runner gets for one turn. The orchestrator owns the claim, `seq`, persistence,
 * cancel, deadlines, shutdown and recovery; a runner only does the work and reports through `emit`.
 */
export interface TurnRunnerContext {
  readonly turn: { readonly id: string; readonly promptStartedAt: number };
  readonly conversation: ConversationInfo;
  /** The workspace; in a scoped run (a git worktree) its `root` is the scope's root, where the work belongs. */
  readonly workspace: Workspace;
  /** Set in a scoped run: pass it on in each tool's context (see `ScopedTurn.key`). */
  readonly scope?: { readonly key: string };
  /** The user's message that started this turn (already stored, last in `history()`). */
  readonly message: { readonly id: string; readonly text: string };
  /** Limits the turn was started with; a runner honours those it understands (`maxSteps`: model calls). */
  readonly limits: { readonly maxSteps?: number };
  /** The context window (tokens) of the conversation's model, when its provider's `models` list gives one. */
  readonly contextWindow?: number;
  /** Aborts on cancel, the turn deadline and shutdown; the runner must stop what it started. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** The conversation's stored messages, oldest first, this turn's user message included. */
  history(): Promise<Message[]>;
  /**
   * Stores an assistant or tool message of this turn, in order with its events; resolves once it is
   * committed. The write of the message that ends the turn may be left unawaited: the final write
   * then shares its commit, and a message that was not stored fails the turn.
   */
  appendMessage(role: "assistant" | "tool", parts: MessagePart[]): Promise<void>;
  /**
   * Persists, then publishes, events of this turn (after any buffered text), optionally moving the
   * turn to `waiting` or `running`. Rejects when the store refuses (the turn then fails).
   */
  emit(events: readonly RunnerEvent[], status?: "waiting" | "running"): Promise<void>;
  /** Streamed answer text: coalesced into `text.delta` events by the orchestrator. */
  text(delta: string): void;
  /** Adds to the turn's usage, reported in its final event (`cachedInputTokens` is a part of `inputTokens`). */
  addUsage(usage: { inputTokens: number; outputTokens: number; cachedInputTokens?: number }): void;
  readonly tools: RunnerTools;
  /** The file locks of the workspace (a runner that edits files outside the tools takes them itself). */
  readonly locks: LockRepository;
  /**
   * Model calls through the provider slots (starred-first), with retries, each passing the model call
   * gates first (budgets: a refused call ends as an `error` part with code `budget_exceeded`).
   */
  readonly providers: Pick<ProvidersService, "call" | "stream">;
  /**
   * Holds a slot of `providerId` without a model call (an external agent that calls the provider
   * itself); release the lease when done. Queued starred-first like any model call.
   */
  acquireSlot(providerId: string): Promise<Lease>;
}

/** How a runner's turn ended; a stop from outside (cancel, deadline, shutdown) is the orchestrator's to record. */
export type RunnerOutcome =
  | { status: "completed"; data?: Record<string, unknown> }
  | { status: "failed"; error: string; code?: string; data?: Record<string, unknown> };

/**
 * A way to run turns. A conversation names its runner at creation: `model` (the built-in loop), or
 * `<id>:<argument>` (for example `cli:claude`), which picks the runner `id` with that argument.
 */
export interface TurnRunner {
  /** A slug; unique among runners. */
  readonly id: string;
  readonly description: string;
  /**
   * Checks the part after `<id>:` (undefined when there is none) when a conversation is created;
   * returns a message saying what is wrong, or undefined when it is accepted.
   */
  validate?(argument: string | undefined): string | undefined;
  /** Runs one turn. Expected failures are an outcome; a throw fails the turn with its message. */
  run(context: TurnRunnerContext): Promise<RunnerOutcome>;
}

/** The extension point through which runners are added (the built-in `model` runner included). */
export const turnRunnersPoint = createExtensionPoint<TurnRunner>({
  id: "session-orchestrator.runners",
  keyOf: (runner) => runner.id,
});

/** The extension point through which tools are added (the workspace tools included). */
export const toolsPoint = createExtensionPoint<ToolDefinition>({
  id: "session-orchestrator.tools",
  keyOf: (tool) => tool.name,
});

/** Splits a conversation's `runner` into the runner id and its argument. */
export function parseRunnerName(name: string): { id: string; argument: string | undefined } {
  const colon = name.indexOf(":");
  return colon < 0
    ? { id: name, argument: undefined }
    : { id: name.slice(0, colon), argument: name.slice(colon + 1) };
}

/** The installed runner a conversation's `runner` names, or why there is none. */
export function findRunner(runners: readonly TurnRunner[], name: string): TurnRunner | { missing: string } {
  const { id } = parseRunnerName(name);
  const runner = runners.find((r) => r.id === id);
  if (runner !== undefined) return runner;
  return {
    missing: `runner "${id}" is not installed (installed: ${runners.map((r) => r.id).join(", ") || "none"})`,
  };
}
