import { z } from "zod";
import { GitRef } from "./git.ts";
import { limits, slugPattern } from "./limits.ts";

/** A workspace or host id. */
export const Slug = z.string().regex(slugPattern, "must match ^[a-z0-9][a-z0-9-]{0,62}$");
const IsoTime = z.string().describe("ISO-8601 time");

/** A workspace: a root directory (local, or on a remote host) that conversations work in. */
export const Workspace = z.object({
  id: Slug,
  name: z.string(),
  root: z.string(),
  hostId: Slug.nullable(),
  starred: z.boolean(),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type Workspace = z.infer<typeof Workspace>;

/** Body of `POST /workspaces`. */
export const CreateWorkspaceBody = z
  .object({
    id: Slug,
    name: z.string().min(1).max(limits.workspaceName).optional(),
    root: z.string().min(1).max(limits.workspaceRoot).optional(),
    hostId: Slug.nullable().optional(),
  })
  .strict();
export type CreateWorkspaceBody = z.infer<typeof CreateWorkspaceBody>;

/** Body of `PATCH /workspaces/:id`. */
export const UpdateWorkspaceBody = z
  .object({
    name: z.string().min(1).max(limits.workspaceName).optional(),
    root: z.string().min(1).max(limits.workspaceRoot).optional(),
    hostId: Slug.nullable().optional(),
  })
  .strict();
export type UpdateWorkspaceBody = z.infer<typeof UpdateWorkspaceBody>;

/** Lifecycle of one turn. `completed`, `failed`, `cancelled` and `interrupted` are final. */
export const TurnStatus = z.enum([
  "queued",
  "waiting",
  "running",
  "completed",
  "failed",
  "cancelled",
  "interrupted",
]);
export type TurnStatus = z.infer<typeof TurnStatus>;
/** Statuses a turn never leaves. */
export const finalTurnStatuses: readonly TurnStatus[] = ["completed", "failed", "cancelled", "interrupted"];

/** A conversation; `status` is `idle` or the status of its latest turn. */
export const Conversation = z.object({
  id: z.string(),
  workspaceId: Slug,
  title: z.string().nullable(),
  provider: z.string(),
  model: z.string(),
  /** How its turns run: `model` (the built-in loop) or `<runner>[:<argument>]`, e.g. `cli:claude`. */
  runner: z.string(),
  status: z.union([z.literal("idle"), TurnStatus]),
  activeTurnId: z.string().nullable(),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type Conversation = z.infer<typeof Conversation>;

/** Body of `POST /workspaces/:id/conversations`. */
export const CreateConversationBody = z
  .object({
    title: z.string().max(limits.conversationTitle).optional(),
    provider: Slug.optional(),
    model: z.string().min(1).max(limits.modelName).optional(),
    runner: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9-]{0,62}(?::[A-Za-z0-9._-]{1,100})?$/,
        "must be a runner id, optionally with :argument",
      )
      .optional(),
    /** Run this conversation's turns in a git worktree of its own (DESIGN §13), on branch `dispatch/<id>`. */
    worktree: z.boolean().optional(),
    /** With `worktree`: what the branch starts from (default the workspace's `HEAD`). */
    baseRef: GitRef.optional(),
  })
  .strict()
  .refine((body) => body.baseRef === undefined || body.worktree === true, {
    message: "baseRef needs worktree: true",
    path: ["baseRef"],
  });
export type CreateConversationBody = z.infer<typeof CreateConversationBody>;

/** One piece of a message. */
export const MessagePart = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text"), text: z.string() }),
  z.object({
    type: z.literal("tool-call"),
    toolCallId: z.string(),
    toolName: z.string(),
    input: z.unknown(),
  }),
  z.object({
    type: z.literal("tool-result"),
    toolCallId: z.string(),
    toolName: z.string(),
    output: z.string(),
    isError: z.boolean(),
  }),
]);
export type MessagePart = z.infer<typeof MessagePart>;

/** A stored message. */
export const Message = z.object({
  id: z.string(),
  conversationId: z.string(),
  turnId: z.string().nullable(),
  role: z.enum(["user", "assistant", "tool"]),
  parts: z.array(MessagePart),
  createdAt: IsoTime,
});
export type Message = z.infer<typeof Message>;

/** Body of `POST /conversations/:id/messages`. The byte limit is checked separately (it is configurable). */
export const PostMessageBody = z
  .object({
    text: z.string().min(1, "must not be empty"),
    /** While a turn is active: wait and run as the next turn (202 `{queued: true}`) instead of 409. */
    queue: z.boolean().optional(),
  })
  .strict();
export type PostMessageBody = z.infer<typeof PostMessageBody>;

/** 202 answer to a posted message. */
export const PostMessageResult = z.union([
  z.object({ turnId: z.string(), messageId: z.string() }),
  z.object({ queued: z.literal(true), messageId: z.string() }),
]);
export type PostMessageResult = z.infer<typeof PostMessageResult>;

/** Answer to `POST /conversations/:id/cancel`. */
export const CancelResult = z.object({
  turnId: z.string().nullable(),
  status: z.union([z.literal("idle"), TurnStatus]),
});
export type CancelResult = z.infer<typeof CancelResult>;

/** Event types a conversation's log can hold (extensions may add their own). */
export const knownEventTypes = [
  "turn.started",
  "turn.waiting",
  "step.started",
  "text.delta",
  "tool.call",
  "tool.result",
  "turn.completed",
  "turn.failed",
  "turn.cancelled",
  "turn.interrupted",
] as const;

/** One entry of a conversation's event log; `seq` runs 1, 2, 3… with no gap. */
export const ConversationEvent = z.object({
  seq: z.number().int().min(1),
  type: z.string(),
  turnId: z.string().nullable(),
  at: IsoTime,
  data: z.record(z.string(), z.unknown()),
});
export type ConversationEvent = z.infer<typeof ConversationEvent>;

/** One waiter in a provider's queue, in grant order. */
export const QueueEntry = z.object({
  turnId: z.string().nullable(),
  conversationId: z.string().nullable(),
  workspaceId: z.string(),
  starred: z.boolean(),
  waitingMs: z.number(),
});

/** A provider as `GET /providers` shows it. */
export const ProviderInfo = z.object({
  id: z.string(),
  kind: z.string(),
  status: z.enum(["available", "cooling", "unavailable"]),
  reason: z.string().optional(),
  /** While `cooling`: when grants resume. */
  coolingUntil: IsoTime.optional(),
  maxConcurrent: z.number().int(),
  inFlight: z.number().int(),
  queue: z.array(QueueEntry),
});
export type ProviderInfo = z.infer<typeof ProviderInfo>;

/** `GET /health`. */
export const Health = z.object({
  status: z.enum(["ok", "degraded"]),
  version: z.string(),
  uptimeS: z.number(),
  extensions: z.array(
    z.object({
      id: z.string(),
      state: z.string(),
      reason: z.string().optional(),
      faults: z.number().int(),
      health: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
  faults: z.object({ total: z.number().int(), bySource: z.record(z.string(), z.number()) }),
});
export type Health = z.infer<typeof Health>;

/** Error codes and their HTTP statuses (DESIGN §7). */
export const errorStatus = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  conversation_busy: 409,
  not_a_git_repository: 400,
  git_failed: 502,
  invalid_transition: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  queue_full: 429,
  provider_queue_full: 503,
  memory_pressure: 503,
  shutting_down: 503,
  internal: 500,
} as const;
export type ErrorCode = keyof typeof errorStatus;

/** Every error body: `{"error":{"code","message","details?"}}`. */
export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
