import type { ConversationStore } from "@dispatch/conversation-store";
import { DispatchError, type ExtensionBus, type Logger, messageOf } from "@dispatch/kernel";
import type { ConcurrencyManager } from "@dispatch/provider-concurrency";
import type { ProvidersService } from "@dispatch/providers";
import type { Conversation, ConversationEvent, TurnStatus } from "@dispatch/wire";
import { z } from "zod";
import type { OrchestratorConfig } from "./config.ts";
import { conversationChoices } from "./conversation-choices.ts";
import { DeadlineWatch } from "./deadline-watch.ts";
import { ConversationSubscription } from "./event-subscription.ts";
import { EventWriter } from "./event-writer.ts";
import { FlushTicker } from "./flush-ticker.ts";
import { FollowupQueue } from "./followup-queue.ts";
import { IdleCollector } from "./idle-collector.ts";
import type { ModelCallGate } from "./model-call-gate.ts";
import { createModelRunner } from "./model-runner.ts";
import { reusingRecent } from "./recent-sample.ts";
import { RecordCache } from "./record-cache.ts";
import { createInScopes, enterScope, type RunScope, type ScopeOptions } from "./run-scope.ts";
import { SubscriptionHub } from "./subscription-hub.ts";
import type { ToolGate } from "./tool-gate.ts";
import { MapToolRegistry } from "./tool-registry.ts";
import { type Claimed, claimTurn } from "./turn-claim.ts";
import { stoppedOutcome } from "./turn-outcome.ts";
import { closeUnfinishedTurn } from "./turn-recovery.ts";
import { TurnRun } from "./turn-run.ts";
import { findRunner, type TurnRunner } from "./turn-runner.ts";
import type { CreateConversationInput, EventSubscription, MemorySample, Orchestrator } from "./types.ts";

/** What the orchestrator is built from; the extension wires the real services in. */
export interface OrchestratorDeps {
  store: ConversationStore;
  providers: Pick<ProvidersService, "call"> & Partial<Pick<ProvidersService, "get" | "list">>;
  /** The installed runners (default: the built-in `model` runner only). Read at each turn. */
  runners?: () => readonly TurnRunner[];
  /** The model call gates every call of every turn passes (read at each call; default: none). */
  gates?: () => readonly ModelCallGate[];
  /** The installed run scopes (git worktrees); read at each creation and turn. Default: none. */
  scopes?: () => readonly RunScope[];
  /** Gates in front of every tool call (contributed through `toolGatesPoint`); read once; default none. */
  toolGates?: readonly ToolGate[];
  /** Provider slots for runners that hold one without a model call (default: refuse). */
  slots?: Pick<ConcurrencyManager, "acquire">;
  bus: Pick<ExtensionBus, "publish">;
  logger: Logger;
  config: OrchestratorConfig;
  sampleMemory: () => MemorySample;
  /** Returns an error to refuse a new turn (memory pressure), else undefined. */
  admitTurn?: () => Error | undefined;
  /** Errors caught in timers and callbacks that nobody awaits. */
  onFault?: (kind: string, error: unknown) => void;
  /** Called once per finished turn (metrics). Must not throw. */
  onTurnFinished?: (status: TurnStatus) => void;
}

const StartTurnInput = z
  .object({
    conversationId: z.string().min(1),
    text: z.string().min(1, "must not be empty"),
    maxSteps: z.number().int().min(1).max(10_000).optional(),
    followupId: z.string().min(1).optional(),
    refuseIfQueued: z.boolean().optional(),
  })
  .strict();

/** Extra time shutdown gives turns it had to close itself after the deadline. */
const forcedCloseGraceMs = 500;

/** The turn engine (DESIGN §5): one active turn per conversation, events persisted then published. */
export class TurnOrchestrator implements Orchestrator {
  readonly tools = new MapToolRegistry();
  readonly defaults: { provider: string; model: string };
  readonly #deps: OrchestratorDeps;
  readonly #runners: () => readonly TurnRunner[];
  readonly #gates: () => readonly ModelCallGate[];
  readonly #active = new Map<string, TurnRun>();
  readonly #hub = new SubscriptionHub();
  readonly #subscriptions = new Set<ConversationSubscription>();
  readonly #writer: EventWriter;
  readonly #ticker: FlushTicker;
  readonly #deadlines: DeadlineWatch;
  readonly #idle: IdleCollector;
  readonly #deadlineOf = new Map<TurnRun, () => void>();
  /** Per-turn memory readings, shared by the turns that start or end within a quarter second. */
  readonly #sampleMemory: () => MemorySample;
  readonly #records: RecordCache;
  readonly #followups: FollowupQueue;
  #closing = false;
  #interrupting: Promise<void> | undefined;
  readonly #stopFeed: () => void;

  constructor(deps: OrchestratorDeps) {
    this.#deps = deps;
    this.#records = new RecordCache(deps.store);
    this.defaults = { provider: deps.config.provider, model: deps.config.model };
    const builtin = [createModelRunner(deps.config)];
    this.#runners = deps.runners ?? (() => builtin);
    this.#gates = deps.gates ?? (() => []);
    const fault = (kind: string) => (error: unknown) => {
      deps.logger.error(`${kind} failed`, { err: error });
      deps.onFault?.(kind, error);
    };
    // Group commit: the events of every turn asked for in one loop turn share a transaction, and a
    // status change shares its event's.
    this.#writer = new EventWriter(
      deps.store.events,
      (conversationId, event) => this.#publish(conversationId, event),
      (fn, options) => deps.store.grouped(fn, options),
    );
    this.#ticker = new FlushTicker(deps.config.coalesceMs, fault("text flush"));
    this.#deadlines = new DeadlineWatch(fault("turn deadline"));
    this.#idle = new IdleCollector(fault("idle collection"));
    this.#sampleMemory = reusingRecent(deps.sampleMemory);
    this.#followups = new FollowupQueue({
      store: deps.store,
      logger: deps.logger,
      startTurn: (input) => this.startTurn(input),
      busy: (conversationId) => this.#closing || this.#active.has(conversationId),
    });
    // Turns other hosts run on the same database reach this host's subscribers through the store.
    this.#stopFeed = deps.store.feed.subscribe({
      advanced: (conversationId, seq) => this.#hub.advance(conversationId, seq),
      resync: () => this.#hub.advanceAll(),
    });
  }

  /** Claims the conversation and starts a turn in the background. */
  async startTurn(input: {
    conversationId: string;
    text: string;
    maxSteps?: number;
    /** (Internal) the queued follow-up this turn starts. */
    followupId?: string;
    /** (Internal) refuse with `conversation_busy` while follow-ups are queued (see FollowupQueue). */
    refuseIfQueued?: boolean;
  }): Promise<{ turnId: string; messageId: string }> {
    const parsed = StartTurnInput.safeParse(input);
    if (!parsed.success) throw new DispatchError("invalid_request", z.prettifyError(parsed.error));
    if (this.#closing) throw new DispatchError("shutting_down", "the host is shutting down; no new turns");
    const refusal = this.#deps.admitTurn?.();
    if (refusal !== undefined) throw refusal;
    const { conversationId, text, maxSteps, followupId, refuseIfQueued } = parsed.data;
    const conversation = await this.#records.conversation(conversationId);
    // Before the claim, so a held worktree refuses the turn (409) instead of failing it later.
    const scoped = await enterScope(this.#deps.scopes?.() ?? [], conversation, text, (id) =>
      this.#records.workspace(id),
    );
    let claimed: Claimed;
    try {
      claimed = await claimTurn(this.#deps.store, {
        conversationId,
        text,
        promptStartedAt: Date.now(),
        ...(followupId === undefined ? {} : { followupId }),
        ...(refuseIfQueued === undefined ? {} : { refuseIfQueued }),
      });
    } catch (error) {
      await scoped?.abandon();
      // A cached conversation may have gone with its workspace; the claim is the authority.
      if (DispatchError.isInstance(error) && error.code === "not_found")
        this.#records.forgetConversation(conversationId);
      throw error;
    }
    const { turn, message } = claimed;
    const run = new TurnRun(turn, conversation, {
      ...(scoped === undefined ? {} : { scoped }),
      workspaceOf: (id) => this.#records.workspace(id),
      runner: this.#runnerFor(conversation.runner),
      text,
      messageId: message.id,
      limits: maxSteps === undefined ? {} : { maxSteps },
      contextWindow: this.#deps.providers.get?.(conversation.provider)?.contextWindows?.[conversation.model],
      store: this.#deps.store,
      providers: this.#deps.providers,
      gates: this.#gates,
      onFault: (kind, error) => {
        this.#deps.logger.error(`${kind} failed`, { err: error });
        this.#deps.onFault?.(kind, error);
      },
      acquireSlot: (request) => {
        const slots = this.#deps.slots;
        if (slots === undefined) {
          return Promise.reject(new DispatchError("unavailable", "this host has no provider slots to hold"));
        }
        return slots.acquire(request);
      },
      tools: this.tools,
      toolGates: this.#deps.toolGates ?? [],
      writer: this.#writer,
      ticker: this.#ticker,
      logger: this.#deps.logger,
      sampleMemory: this.#sampleMemory,
      config: this.#deps.config,
      onSettled: (settled) => this.#untrack(settled),
      onFinished: (finished, status) => this.#finished(finished, status),
    });
    this.#active.set(conversationId, run);
    this.#idle.busy();
    this.#deadlineOf.set(
      run,
      this.#deadlines.add(Date.now() + this.#deps.config.turnTimeoutMs, () => run.stop("deadline")),
    );
    // A claim that committed while shutdown began still gets a final event, `interrupted`.
    if (this.#closing) run.stop("shutdown");
    run.start();
    return { turnId: turn.id, messageId: message.id };
  }

  /**
   * Creates a conversation of a workspace: provider and model default from config (a provider's
   * first model when only the provider is given), and the runner must be installed and accept its
   * argument. Errors: `not_found` (workspace), `invalid_request` naming the field.
   */
  async createConversation(input: CreateConversationInput): Promise<Conversation> {
    const { provider, model, runner } = conversationChoices(input, {
      defaults: this.defaults,
      providers: this.#deps.providers,
      runnerFor: (name) => this.#runnerFor(name),
    });
    const options: ScopeOptions = {
      ...(input.worktree === undefined ? {} : { worktree: input.worktree }),
      ...(input.baseRef === undefined ? {} : { baseRef: input.baseRef }),
    };
    const { store } = this.#deps;
    const record = { workspaceId: input.workspaceId, title: input.title ?? null, provider, model, runner };
    return createInScopes(this.#deps.scopes?.() ?? [], options, {
      workspaceId: input.workspaceId,
      workspaceOf: (id) => this.#records.workspace(id),
      create: () => store.conversations.create(record),
      transaction: (fn) => store.transaction(() => fn()),
    });
  }

  /** The runners a conversation can name, by id. */
  listRunners(): Array<{ id: string; description: string }> {
    return this.#runners().map(({ id, description }) => ({ id, description }));
  }

  #runnerFor(name: string): TurnRunner | { missing: string } {
    return findRunner(this.#runners(), name);
  }

  /** Starts a turn, or stores the message to run after the active turn (see FollowupQueue). */
  queueMessage(input: {
    conversationId: string;
    text: string;
  }): Promise<{ queued: false; turnId: string; messageId: string } | { queued: true; messageId: string }> {
    return this.#followups.queue(input);
  }

  /** Starts the next queued follow-up of an idle conversation (no-op while a turn is active). */
  drainFollowups(conversationId: string): Promise<void> {
    return this.#followups.drain(conversationId);
  }

  /** Cancels the conversation's active turn and waits for it to settle. */
  async cancelTurn(conversationId: string): Promise<{ turnId: string | null; status: TurnStatus | "idle" }> {
    const run = this.#active.get(conversationId);
    if (run === undefined) {
      const conversation = await this.#deps.store.conversations.get(conversationId);
      if (conversation === undefined) {
        throw new DispatchError("not_found", `conversation "${conversationId}" does not exist`);
      }
      return { turnId: null, status: "idle" };
    }
    run.stop("cancel");
    return { turnId: run.turn.id, status: await run.settled };
  }

  /**
   * Interrupts every active turn and waits at most `deadlineMs`. Turns still not closed then (a loop
   * stuck outside any abortable wait) get their `turn.interrupted` written directly, with a short grace.
   */
  async cancelAll(deadlineMs: number): Promise<void> {
    this.#closing = true;
    const deadline = Date.now() + Math.max(0, deadlineMs);
    while (this.#active.size > 0 && Date.now() < deadline) {
      const runs = [...this.#active.values()];
      for (const run of runs) run.stop("shutdown");
      await waitAtMost(Promise.allSettled(runs.map((run) => run.settled)), deadline - Date.now());
    }
    const stuck = [...this.#active.values()];
    if (stuck.length === 0) return;
    this.#deps.logger.warn("turns did not stop within the shutdown deadline", {
      turns: stuck.length,
      deadlineMs,
    });
    const outcome = stoppedOutcome("shutdown", this.#deps.config.turnTimeoutMs);
    const forced = stuck.map((run) => run.finalize(outcome));
    await waitAtMost(Promise.allSettled(forced), forcedCloseGraceMs);
  }

  /** Shutdown's first step: cancelAll with the configured deadline, once however often it is called. */
  interruptAll(): Promise<void> {
    this.#interrupting ??= this.cancelAll(this.#deps.config.shutdownDeadlineMs);
    return this.#interrupting;
  }

  /** Conversations with an active turn. */
  getActiveConversationCount(): number {
    return this.#active.size;
  }

  /** Replay from the store after `afterSeq`, then live events; see ConversationSubscription. */
  subscribe(conversationId: string, afterSeq: number, options?: { maxBuffered?: number }): EventSubscription {
    const subscription: ConversationSubscription = new ConversationSubscription({
      hub: this.#hub,
      conversationId,
      afterSeq,
      maxBuffered: options?.maxBuffered ?? this.#deps.config.subscriberBuffer,
      replay: (after, limit) => this.#deps.store.events.listAfter(conversationId, after, limit),
      onClose: () => this.#subscriptions.delete(subscription),
    });
    this.#subscriptions.add(subscription);
    // During shutdown a subscriber still gets what the log holds (the turns' final events), then the end.
    if (this.#closing) subscription.finish("shutdown");
    return subscription;
  }

  /**
   * Crash recovery: every turn left `queued`, `waiting` or `running` becomes `interrupted` with a
   * `turn.interrupted` event. A turn whose final event was stored but whose status was not (a crash
   * between the two writes) takes the status its event records instead. Returns how many it closed.
   */
  async recoverUnfinished(): Promise<number> {
    const unfinished = await this.#deps.store.turns.listUnfinished();
    for (const turn of unfinished) await closeUnfinishedTurn(this.#deps.store, this.#writer, turn);
    return unfinished.length;
  }

  /**
   * Cluster recovery (DESIGN §17): the unfinished turns of a host that died (store instance
   * `instanceId`) are adopted by this host, then closed as at start-up recovery (`interrupted`, or
   * the status their stored final event records). Another survivor adopting at the same time gets
   * none of the same turns. Returns how many this host closed.
   */
  async recoverInstance(instanceId: string): Promise<number> {
    const adopted = await this.#deps.store.turns.adoptUnfinished(instanceId);
    for (const turn of adopted) {
      await closeUnfinishedTurn(this.#deps.store, this.#writer, turn, "the host running it stopped");
    }
    return adopted.length;
  }

  /** Drops a cached workspace; call when it is updated or deleted. */
  forgetWorkspace(id: string): void {
    this.#records.forgetWorkspace(id);
  }

  /** Stops timers and ends every subscription with `shutdown`. Call after `cancelAll`. */
  dispose(): void {
    this.#closing = true;
    this.#stopFeed();
    this.#ticker.dispose();
    this.#deadlines.dispose();
    this.#idle.dispose();
    this.#deadlineOf.clear();
    for (const subscription of [...this.#subscriptions]) subscription.drop("shutdown");
  }

  /** Live listeners and open subscriptions, for leak checks. */
  get stats(): { liveListeners: number; subscriptions: number; pendingWrites: number; deadlines: number } {
    return {
      liveListeners: this.#hub.listenerCount,
      subscriptions: this.#subscriptions.size,
      pendingWrites: this.#writer.pendingConversations,
      deadlines: this.#deadlines.size,
    };
  }

  #publish(conversationId: string, event: ConversationEvent): void {
    this.#hub.deliver(conversationId, event);
    this.#deps.bus.publish("conversation.event", { conversationId, event });
    // after the local delivery, as everything else here: stored, status set, then told
    this.#deps.store.feed.announce(conversationId, event.seq);
  }

  #untrack(run: TurnRun): void {
    if (this.#active.get(run.conversation.id) === run) this.#active.delete(run.conversation.id);
    this.#deadlineOf.get(run)?.();
    this.#deadlineOf.delete(run);
    if (this.#active.size === 0) this.#idle.idle();
  }

  #finished(run: TurnRun, status: TurnStatus): void {
    const { conversation, turn } = run;
    try {
      this.#deps.bus.publish("turn.finished", {
        turnId: turn.id,
        conversationId: conversation.id,
        workspaceId: conversation.workspaceId,
        status,
      });
      this.#deps.onTurnFinished?.(status);
    } catch (error) {
      this.#deps.logger.error("turn.finished handler failed", { err: messageOf(error) });
    }
    this.drainFollowups(conversation.id).catch((error: unknown) => this.#deps.onFault?.("follow-up", error));
  }
}

async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms));
  });
  await Promise.race([promise, timeout]);
  clearTimeout(timer);
}
