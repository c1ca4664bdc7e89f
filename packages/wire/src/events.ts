import { z } from "zod";
import { IsoTime } from "./iso-time.ts";

/** Memory of the host process at a turn's start and end. */
const MemorySample = z.object({ rssBytes: z.number(), heapUsedBytes: z.number() });
/** Tokens a turn used over all its model calls. */
const Usage = z.looseObject({
  inputTokens: z.number(),
  outputTokens: z.number(),
  cachedInputTokens: z
    .number()
    .optional()
    .describe("the part of inputTokens the provider served from its cache"),
});

/**
 * The payload of each event type. Payloads are open (`additionalProperties` allowed): a runner's own
 * result data is merged into its turn's final event, and new optional fields must not break clients.
 */
const payloads = {
  "turn.started": z
    .looseObject({ provider: z.string(), model: z.string(), runner: z.string(), memory: MemorySample })
    .describe("session-orchestrator: a turn began (first event of every turn)"),
  "turn.waiting": z
    .looseObject({
      reason: z
        .string()
        .describe("`queue` (for a provider slot), `retry` (backing off) or `slot` (a CLI agent)"),
      step: z.number().int().optional(),
      attempt: z.number().int().optional(),
      retryInMs: z.number().optional(),
      message: z.string().optional(),
      provider: z.string().optional(),
    })
    .describe("session-orchestrator or a runner: the turn waits for a provider slot or a retry delay"),
  "step.started": z
    .looseObject({ step: z.number().int(), attempt: z.number().int() })
    .describe("session-orchestrator: a model call got its slot (once per attempt)"),
  "text.delta": z
    .looseObject({ text: z.string() })
    .describe("session-orchestrator: more of the answer's text (coalesced, not one per token)"),
  "tool.call": z
    .looseObject({
      toolCallId: z.string(),
      toolName: z.string(),
      input: z.unknown().describe("the tool's input as the model gave it (cut at 16 KiB)"),
      error: z
        .string()
        .optional()
        .describe("the model's call could not be parsed; the raw input is a string"),
    })
    .describe("session-orchestrator: the model asked for a tool call"),
  "tool.result": z
    .looseObject({
      toolCallId: z.string(),
      toolName: z.string(),
      output: z.string(),
      isError: z.boolean(),
      truncated: z.literal(true).optional(),
    })
    .describe("session-orchestrator: a tool call finished (its output cut at 16 KiB here)"),
  "tool.approval_requested": z
    .looseObject({
      toolCallId: z.string(),
      toolName: z.string(),
      input: z.unknown().describe("the call's input (a preview past 16 KiB)"),
      subject: z.string().optional().describe("the call's main argument, which rules match"),
      rule: z
        .object({ key: z.string(), scope: z.enum(["host", "workspace"]) })
        .nullable()
        .describe("the rule that said ask"),
      timeoutMs: z.number().int(),
      expiresAt: IsoTime.describe("when no answer becomes a deny"),
    })
    .describe(
      "tool-approvals: a tool call waits for `POST /conversations/{id}/approvals/{toolCallId}` (a rule said ask)",
    ),
  "tool.approval_resolved": z
    .looseObject({
      toolCallId: z.string(),
      decision: z.enum(["allow", "deny"]),
      by: z.enum(["person", "timeout", "turn-ended"]),
      reason: z.string().optional().describe("why the turn ended, for `turn-ended`"),
    })
    .describe("tool-approvals: a waiting tool call was answered, timed out, or its turn ended"),
  "turn.completed": z
    .looseObject({ usage: Usage, memory: MemorySample })
    .describe("session-orchestrator: the turn finished; the runner's result data is merged in"),
  "turn.failed": z
    .looseObject({
      error: z.string(),
      code: z.string().optional().describe("e.g. `max_steps`, `turn_timeout`, `runner_unavailable`"),
      usage: Usage,
      memory: MemorySample,
    })
    .describe("session-orchestrator: the turn failed"),
  "turn.cancelled": z
    .looseObject({ reason: z.string(), usage: Usage, memory: MemorySample })
    .describe("session-orchestrator: the turn was cancelled (`POST /conversations/{id}/cancel`)"),
  "turn.interrupted": z
    .looseObject({ reason: z.string(), usage: Usage.optional(), memory: MemorySample.optional() })
    .describe("session-orchestrator: the host shut down during the turn, or restarted after a crash"),
  "context.compacting": z
    .looseObject({
      beforeTokens: z.number().int(),
      estimated: z.boolean().describe("true when the token count is an estimate, not the provider's"),
      messages: z.number().int().describe("how many older messages are being summarised"),
      attempt: z.number().int().optional(),
    })
    .describe("session-orchestrator: the prompt is near the model's context window; a summary is being made"),
  "context.compacted": z
    .looseObject({
      beforeTokens: z.number().int(),
      afterTokens: z.number().int(),
      estimated: z.boolean(),
      messages: z.number().int(),
    })
    .describe(
      "session-orchestrator: older messages were replaced by a summary in the prompt (stored messages stay)",
    ),
  "agent.started": z
    .looseObject({
      agentId: z.string(),
      session: z.string().describe("the tmux session, `dispatch-<conversationId>`"),
      pid: z.number().int().nullable(),
      replaced: z.string().optional().describe("why a previous session was replaced"),
    })
    .describe("cli-agents runner: the agent's command was started in its tmux session"),
  "agent.reattached": z
    .looseObject({ agentId: z.string(), interruptedTurnId: z.string().optional(), screen: z.string() })
    .describe("cli-agents runner: a session that survived a host restart was taken up again"),
  "agent.input": z
    .looseObject({ agentId: z.string(), bytes: z.number().int() })
    .describe("cli-agents runner: the user's message was pasted into the agent's pane"),
  "screen.updated": z
    .looseObject({
      screen: z.string().describe("the visible pane, at most its last 64 KiB"),
      truncated: z.literal(true).optional(),
      cols: z.number().int(),
      rows: z.number().int(),
      cursor: z.object({ x: z.number().int(), y: z.number().int() }),
      alternate: z.literal(true).optional(),
    })
    .describe("cli-agents runner: the agent's screen changed"),
  "agent.crashed": z
    .looseObject({
      agentId: z.string(),
      attempt: z.number().int(),
      maxAttempts: z.number().int(),
      reason: z.string(),
      screen: z.string(),
      exitStatus: z.number().int().nullable().optional(),
      signal: z.string().nullable().optional(),
      pattern: z.string().optional(),
    })
    .describe("cli-agents runner: the agent crashed (a crash pattern, a dead pane, an exit)"),
  "agent.respawned": z
    .looseObject({ agentId: z.string(), attempt: z.number().int(), pid: z.number().int().nullable() })
    .describe("cli-agents runner: the agent was started again after a crash"),
} as const;

/** Every event type a built-in part of Dispatch writes into a conversation's log. */
export type ConversationEventType = keyof typeof payloads;

/** The event types, in the order above (extensions may add their own). */
export const knownEventTypes = Object.keys(payloads) as ConversationEventType[];

/** `turn.started` → `TurnStartedEvent`: the schema's name in the OpenAPI document. */
export function eventSchemaName(type: string): string {
  const words = type.split(/[._-]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1));
  return `${words.join("")}Event`;
}

function eventOf<T extends ConversationEventType>(type: T) {
  return z
    .object({
      seq: z.number().int().min(1),
      type: z.literal(type),
      turnId: z.string().nullable(),
      at: IsoTime,
      data: payloads[type],
    })
    .describe(payloads[type].description ?? type);
}

type EventSchemas = { [T in ConversationEventType]: ReturnType<typeof eventOf<T>> };

/** The schema of each known event type, with its envelope (`seq`, `type`, `turnId`, `at`, `data`). */
export const conversationEventSchemas = Object.fromEntries(
  knownEventTypes.map((type) => [type, eventOf(type)]),
) as EventSchemas;

/**
 * A known conversation event, discriminated by `type`: what `GET /conversations/{id}/events` streams.
 * The store and the orchestrator use the open `ConversationEvent` (any type, any data).
 */
export const KnownConversationEvent = z.discriminatedUnion(
  "type",
  knownEventTypes.map((type) => conversationEventSchemas[type]) as unknown as [
    EventSchemas[ConversationEventType],
    ...EventSchemas[ConversationEventType][],
  ],
);
export type KnownConversationEvent = z.infer<typeof KnownConversationEvent>;
