import { createServiceRef, type Logger } from "@dispatch/kernel";
import type { Conversation, ConversationEvent, TurnStatus, Workspace } from "@dispatch/wire";
import type { z } from "zod";

/** What a tool gets besides its input. */
export interface ToolContext {
  /** The workspace; in a scoped run (a git worktree) its `root` is the scope's root, where tools are confined. */
  workspace: Workspace;
  /** Set in a scoped run: names the root for file locks and root pins (see `ScopedTurn.key`). */
  scope?: { key: string };
  conversationId: string;
  turnId: string;
  /** The call's id as the model gave it (set by the built-in runner; gates address approvals by it). */
  toolCallId?: string;
  /** Aborts on cancel, turn deadline and shutdown; a tool must stop (and kill what it started). */
  signal: AbortSignal;
  logger: Logger;
}

/** A tool's answer. Failures are results with `isError: true`, sent back to the model; a throw is treated the same. */
export interface ToolResult {
  output: string;
  isError?: boolean;
}

/** A tool any extension can register. `input` is validated before `run`; invalid input goes back to the model. */
export interface ToolDefinition<I = unknown> {
  name: string;
  description: string;
  input: z.ZodType<I>;
  run(input: I, context: ToolContext): Promise<ToolResult>;
  /**
   * The call's main argument, which permission rules' globs match (`bash`: the command; the file
   * tools: the path relative to the root). Without it only rules naming the tool alone match.
   */
  subject?(input: I, context: ToolContext): string | undefined;
}

/** The registry tools are added to. `register` returns the function that removes the tool again. */
export interface ToolRegistry {
  register<I>(tool: ToolDefinition<I>): () => void;
  get(name: string): ToolDefinition | undefined;
  list(): ToolDefinition[];
}

/** A live subscription to a conversation's events: replay from the store, then live, no gap or duplicate. */
export interface EventSubscription extends AsyncIterable<ConversationEvent> {
  /** Stops delivery and frees the buffer. */
  close(): void;
  /**
   * Ends the subscription with `reason` once the consumer has taken every event published so far
   * (buffered, or still to be replayed from the store): a clean end, for example at shutdown.
   */
  finish(reason: string): void;
  /** Why the subscription ended, if it was dropped (for example `slow_consumer`). */
  readonly closedReason: string | undefined;
  /** Resolves with `closedReason` once the subscription has ended, however it ended. */
  readonly ended: Promise<string | undefined>;
}

/** What `createConversation` takes; everything but the workspace has a default. */
export interface CreateConversationInput {
  workspaceId: string;
  title?: string | null;
  provider?: string;
  model?: string;
  /** `model` (default) or `<runner id>[:<argument>]`, for example `cli:claude`. */
  runner?: string;
  /** Run its turns in a git worktree (needs an installed run scope that handles it, see `runScopesPoint`). */
  worktree?: boolean;
  /** With `worktree`: what its branch starts from. */
  baseRef?: string;
}

/** The turn engine. Errors are DispatchErrors: `not_found`, `conversation_busy`, `memory_pressure`. */
export interface Orchestrator {
  /** The tools turns offer (contributed through `toolsPoint`). */
  readonly tools: Pick<ToolRegistry, "get" | "list">;
  /** Provider and model a new conversation gets (config `defaults`). */
  readonly defaults: { provider: string; model: string };
  /** Creates a conversation; validates its provider and runner (`invalid_request` naming the field). */
  createConversation(input: CreateConversationInput): Promise<Conversation>;
  /** The runners a conversation can name. */
  listRunners(): Array<{ id: string; description: string }>;
  /** Claims the conversation and starts a turn in the background. */
  startTurn(input: {
    conversationId: string;
    text: string;
    /** Caps this turn's model calls below the configured `maxSteps`. */
    maxSteps?: number;
  }): Promise<{ turnId: string; messageId: string }>;
  /** Starts a turn, or queues the message (stored) to run after the active turn and those queued before it. */
  queueMessage(input: {
    conversationId: string;
    text: string;
  }): Promise<{ queued: false; turnId: string; messageId: string } | { queued: true; messageId: string }>;
  /** Cancels the conversation's active turn; returns its final status (or `idle` when none was active). */
  cancelTurn(conversationId: string): Promise<{ turnId: string | null; status: TurnStatus | "idle" }>;
  /** Interrupts every active turn and waits at most `deadlineMs` for them to settle. */
  cancelAll(deadlineMs: number): Promise<void>;
  /**
   * The start of shutdown: refuses new turns and interrupts active ones, waiting at most the
   * configured `defaults.shutdownDeadlineMs`. Idempotent. The HTTP transport calls it before it
   * closes its streams, so their clients get each turn's final event live.
   */
  interruptAll(): Promise<void>;
  getActiveConversationCount(): number;
  subscribe(conversationId: string, afterSeq: number, options?: { maxBuffered?: number }): EventSubscription;
}

/** Memory sample the orchestrator records before and after each turn. */
export interface MemorySample {
  rssBytes: number;
  heapUsedBytes: number;
}

/** Lets another extension refuse new turns (for example under memory pressure). */
export interface TurnAdmission {
  /** Returns a DispatchError to refuse a new turn, or undefined to admit it. */
  check(): Error | undefined;
}

/** The service ref of the orchestrator. */
export const orchestratorRef = createServiceRef<Orchestrator>("session-orchestrator");

declare module "@dispatch/kernel" {
  interface DispatchEvents {
    /** A turn reached a final status (tools release their locks on it). */
    "turn.finished": { turnId: string; conversationId: string; workspaceId: string; status: TurnStatus };
    /** Every persisted conversation event, after it is stored. */
    "conversation.event": { conversationId: string; event: ConversationEvent };
  }
}
