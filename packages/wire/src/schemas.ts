import { z } from "zod";
import { GitRef } from "./git.ts";
import { IsoTime } from "./iso-time.ts";
import { limits, permissionRulePattern, slugPattern } from "./limits.ts";

/** A workspace or host id. */
export const Slug = z.string().regex(slugPattern, "must match ^[a-z0-9][a-z0-9-]{0,62}$");

/**
 * The query of every list: `limit` (default 100, at most 500) and the opaque `cursor` a previous page
 * answered as `nextCursor`. Pages follow the list's order and are keyset reads, so items created or
 * deleted while a client pages are never seen twice and never make it miss another.
 */
export const ListQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(limits.pageMax)
    .default(limits.pageDefault)
    .describe(`items per page, 1..${limits.pageMax} (default ${limits.pageDefault})`),
  cursor: z
    .string()
    .min(1)
    .max(limits.cursorLength)
    .optional()
    .describe("the nextCursor of the previous page; leave out for the first page"),
});
export type ListQuery = z.infer<typeof ListQuery>;

/** Where the next page starts: pass it back as `cursor`; null on the last page. */
const NextCursor = z.string().nullable();
/** What a permission rule does with the tool calls it matches. */
export const PermissionDecision = z.enum(["allow", "ask", "deny"]);
export type PermissionDecision = z.infer<typeof PermissionDecision>;

/**
 * A permission rule's key: a tool name (or `*` for every tool), optionally with `:` and a glob over
 * the call's main argument (`bash:git push*`, `write_file:*.env`). In the glob `*` matches any run of
 * characters (slashes included), `?` one character, and a backslash escapes the next one.
 */
export const PermissionRuleKey = z
  .string()
  .max(limits.permissionRuleKey)
  .regex(permissionRulePattern, "must be a tool name or `*`, optionally followed by `:glob`");

/** Permission rules: rule key → decision; the most specific matching rule wins. */
export const PermissionRules = z
  .record(PermissionRuleKey, PermissionDecision)
  .refine((rules) => Object.keys(rules).length <= limits.permissionRules, {
    message: `at most ${limits.permissionRules} rules`,
  });
export type PermissionRules = z.infer<typeof PermissionRules>;

/** A workspace: a root directory (local, or on a remote host) that conversations work in. */
export const Workspace = z.object({
  id: Slug,
  name: z.string(),
  root: z.string(),
  hostId: Slug.nullable(),
  starred: z.boolean(),
  /** Whether `bash` in the sandbox may use the network; null: the host's `tools.network`. */
  network: z.boolean().nullable(),
  /** This workspace's permission rules, on top of the host's `tools.permissions`. */
  permissions: PermissionRules,
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type Workspace = z.infer<typeof Workspace>;

/** `GET /workspaces`: one page, starred first, then by name. */
export const WorkspaceList = z.object({ workspaces: z.array(Workspace), nextCursor: NextCursor });
export type WorkspaceList = z.infer<typeof WorkspaceList>;

/** Body of `POST /workspaces`. */
export const CreateWorkspaceBody = z
  .object({
    id: Slug,
    name: z.string().min(1).max(limits.workspaceName).optional(),
    root: z.string().min(1).max(limits.workspaceRoot).optional(),
    hostId: Slug.nullable().optional(),
    network: z.boolean().nullable().optional(),
    permissions: PermissionRules.optional(),
  })
  .strict();
export type CreateWorkspaceBody = z.infer<typeof CreateWorkspaceBody>;

/** Body of `PATCH /workspaces/:id`. */
export const UpdateWorkspaceBody = z
  .object({
    name: z.string().min(1).max(limits.workspaceName).optional(),
    root: z.string().min(1).max(limits.workspaceRoot).optional(),
    hostId: Slug.nullable().optional(),
    network: z.boolean().nullable().optional(),
    /** Replaces the workspace's rules as a whole (`{}` removes them all). */
    permissions: PermissionRules.optional(),
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

/** `GET /workspaces/:id/conversations`: one page, newest first. */
export const ConversationList = z.object({ conversations: z.array(Conversation), nextCursor: NextCursor });
export type ConversationList = z.infer<typeof ConversationList>;

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

/** `GET /conversations/:id/messages`: one page, oldest first. */
export const MessageList = z.object({ messages: z.array(Message), nextCursor: NextCursor });
export type MessageList = z.infer<typeof MessageList>;

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

/**
 * One entry of a conversation's event log; `seq` runs 1, 2, 3… with no gap. Open (any `type`, any
 * `data`) for the store and runners; `KnownConversationEvent` (events.ts) is the typed union of the
 * built-in types.
 */
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

/** `GET /providers`. */
export const ProviderList = z.object({ providers: z.array(ProviderInfo) });
export type ProviderList = z.infer<typeof ProviderList>;

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

/** `GET /health` without the token when one is configured: no paths, addresses, providers or memory. */
export const HealthSummary = Health.pick({ status: true, version: true }).strict();
export type HealthSummary = z.infer<typeof HealthSummary>;

/**
 * Every error code a Dispatch package can throw, with its HTTP status. `DispatchError` accepts only
 * these codes (its constructor is typed with `ErrorCode`), so a new code must be added here with its
 * status before it can be thrown; a 500 code answers as `internal`, without its message. The first
 * group is DESIGN §7's contract; the others are what the packages raise below the HTTP layer (tools,
 * providers, SSH, start-up), mapped for when one reaches a response.
 */
export const errorStatus = {
  // DESIGN §7
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  conversation_busy: 409,
  not_a_git_repository: 400,
  git_failed: 502,
  payload_too_large: 413,
  unsupported_media_type: 415,
  queue_full: 429,
  budget_exceeded: 429,
  memory_pressure: 503,
  shutting_down: 503,
  internal: 500,
  // the store
  invalid_transition: 409,
  store_closed: 503,
  store_schema_unknown: 500,
  // turns, tools and providers
  cancelled: 409,
  locked: 409,
  path_outside_workspace: 403,
  unknown_provider: 400,
  provider_queue_full: 503,
  shutdown: 503,
  stalled: 504,
  timeout: 504,
  turn_timeout: 504,
  lease_reclaimed: 500,
  io_error: 500,
  // remote hosts (SSH): the host, not the request, is at fault
  unavailable: 503,
  auth_failed: 502,
  connect_timeout: 504,
  host_key_mismatch: 502,
  host_key_unknown: 502,
  // start-up and wiring: bugs or configuration, never a client's doing
  service_unavailable: 503,
  invalid_config: 500,
  insecure_bind: 500,
  data_dir_unusable: 500,
  invalid_cgroup_value: 500,
  startup_failed: 500,
  service_not_provided: 500,
  undeclared_dependency: 500,
  undeclared_service: 500,
  unknown_service: 500,
  too_late: 500,
  not_point_owner: 500,
  undeclared_service_use: 500,
  config_not_ready: 500,
  not_active: 503,
  invalid_route: 500,
  route_conflict: 500,
  extension_migration_failed: 500,
  extension_schema_refused: 500,
  // outside authoring (the CLI's own commands, never over HTTP)
  host_not_installed: 500,
  bad_dispatch_import: 500,
  bad_extension_id: 400,
  not_a_directory: 400,
  directory_not_empty: 409,
  // file tools (issue 15) and execution sessions
  path_changed: 409,
  workspace_root_changed: 409,
  hard_link_refused: 403,
  grep_timeout: 504,
  session_ended: 409,
  // CLI agents: tmux or the agent's command, not the request, is at fault
  agent_spawn_failed: 502,
  tmux_unavailable: 503,
  tmux_failed: 502,
  // the sandbox a workspace asks for cannot be made on this machine (bubblewrap missing or refused)
  sandbox_unavailable: 503,
  // the dashboard (issue 24): its bundle could not be built at start-up
  dashboard_build_failed: 500,
} as const satisfies Record<
  string,
  400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 429 | 500 | 502 | 503 | 504
>;
export type ErrorCode = keyof typeof errorStatus;

/**
 * The codes an HTTP answer can carry: every code of the table but those answering 500, which are
 * answered as `internal` without their message.
 */
export const HttpErrorCode = z
  .enum(
    Object.keys(errorStatus).filter(
      (code) => code === "internal" || errorStatus[code as ErrorCode] !== 500,
    ) as [ErrorCode, ...ErrorCode[]],
  )
  .describe("The error codes of the table in DESIGN §7 and wire's errorStatus");

/** Every error body: `{"error":{"code","message","details?"}}`; `code` is one of `HttpErrorCode` or an extension's own. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.union([HttpErrorCode, z.string()]),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
