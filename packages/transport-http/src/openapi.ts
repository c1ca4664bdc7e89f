import {
  CancelResult,
  Conversation,
  ConversationList,
  CreateConversationBody,
  CreateWorkspaceBody,
  Health,
  HealthSummary,
  KnownConversationEvent,
  ListQuery,
  MessageList,
  PostMessageBody,
  PostMessageResult,
  ProviderList,
  UpdateWorkspaceBody,
  Workspace,
  WorkspaceList,
} from "@dispatch/wire";
import { z } from "zod";

/**
 * One operation in the OpenAPI document: `path` in OpenAPI form (`/workspaces/{id}`), the JSON
 * request `body` schema, the success status with its schema (or another content type), and the
 * error statuses it may answer (each with the API's error body). 401, 403, 405 and 500 are added
 * to every operation, and 400, 413 and 415 to every one with a body.
 */
export interface Operation {
  method: "get" | "post" | "put" | "patch" | "delete";
  path: string;
  summary: string;
  /** Unique in the document; without one it is made from the method and path (`getTasksId`). */
  operationId?: string;
  /** Longer text than the summary (Markdown). */
  description?: string;
  /** Query parameters: one field per parameter, optional unless required, `.describe()`d. */
  query?: z.ZodObject;
  /** Request headers the operation reads, like `query`. */
  headers?: z.ZodObject;
  body?: z.ZodType;
  ok: { status: number; schema?: z.ZodType; contentType?: string; description?: string };
  errors: number[];
  /** `false` for a route that needs no token (`security: []`). */
  auth?: false;
}

const afterDescription =
  "Resume after this `seq` (0, the default, replays from the start); `Last-Event-ID` wins when both are sent";
/** A list envelope such as `{ providers: [...] }`, for the short lists that are not paged. */
const _list = (key: string, item: z.ZodType) => z.object({ [key]: z.array(item) });

/** Every route of the API with its schemas: the single source the OpenAPI document is generated from. */
export const operations: Operation[] = [
  {
    method: "get",
    path: "/health",
    operationId: "getHealth",
    summary: "Service health; with a token configured and none given, only `{status, version}`",
    ok: { status: 200, schema: z.union([Health, HealthSummary]) },
    errors: [],
    auth: false,
  },
  {
    method: "get",
    path: "/metrics",
    operationId: "getMetrics",
    summary: "Prometheus metrics",
    ok: { status: 200, schema: z.string(), contentType: "text/plain" },
    errors: [],
  },
  {
    method: "get",
    path: "/openapi.json",
    operationId: "getOpenApi",
    summary: "This document",
    ok: { status: 200, schema: z.record(z.string(), z.unknown()).meta({ id: "OpenApiDocument" }) },
    errors: [],
  },
  {
    method: "get",
    path: "/workspaces",
    operationId: "listWorkspaces",
    summary: "List workspaces, starred first, then by name; paged by `limit` and `cursor`",
    query: ListQuery,
    ok: { status: 200, schema: WorkspaceList },
    errors: [400, 401],
  },
  {
    method: "post",
    path: "/workspaces",
    operationId: "createWorkspace",
    summary: "Create a workspace",
    description: "`root` defaults to `<dataDir>/workspaces/<id>`; `hostId` must name a configured SSH host.",
    body: CreateWorkspaceBody,
    ok: { status: 201, schema: Workspace },
    errors: [409],
  },
  {
    method: "get",
    path: "/workspaces/{id}",
    operationId: "getWorkspace",
    summary: "Get a workspace",
    ok: { status: 200, schema: Workspace },
    errors: [404],
  },
  {
    method: "patch",
    path: "/workspaces/{id}",
    operationId: "updateWorkspace",
    summary: "Update a workspace",
    body: UpdateWorkspaceBody,
    ok: { status: 200, schema: Workspace },
    errors: [404],
  },
  {
    method: "delete",
    path: "/workspaces/{id}",
    operationId: "deleteWorkspace",
    summary: "Delete a workspace (not `default`, not with an active turn)",
    ok: { status: 204 },
    errors: [404, 409],
  },
  {
    method: "put",
    path: "/workspaces/{id}/star",
    operationId: "starWorkspace",
    summary: "Star a workspace (idempotent); its queued turns move ahead at once",
    ok: { status: 200, schema: Workspace },
    errors: [404],
  },
  {
    method: "delete",
    path: "/workspaces/{id}/star",
    operationId: "unstarWorkspace",
    summary: "Unstar a workspace (idempotent)",
    ok: { status: 200, schema: Workspace },
    errors: [404],
  },
  {
    method: "get",
    path: "/workspaces/{id}/conversations",
    operationId: "listConversations",
    summary: "List a workspace's conversations, newest first; paged by `limit` and `cursor`",
    query: ListQuery,
    ok: { status: 200, schema: ConversationList },
    errors: [400, 401, 404],
  },
  {
    method: "post",
    path: "/workspaces/{id}/conversations",
    operationId: "createConversation",
    summary: "Create a conversation",
    description:
      "`provider` and `model` default to the config's `defaults`; `runner` to `model` (the built-in loop).",
    body: CreateConversationBody,
    ok: { status: 201, schema: Conversation },
    errors: [404],
  },
  {
    method: "get",
    path: "/conversations/{id}",
    operationId: "getConversation",
    summary: "Get a conversation with its status",
    ok: { status: 200, schema: Conversation },
    errors: [404],
  },
  {
    method: "get",
    path: "/conversations/{id}/messages",
    operationId: "listMessages",
    summary: "List a conversation's messages, oldest first; paged by `limit` and `cursor`",
    query: ListQuery,
    ok: { status: 200, schema: MessageList },
    errors: [400, 401, 404],
  },
  {
    method: "post",
    path: "/conversations/{id}/messages",
    operationId: "postMessage",
    summary: "Post a user message; starts a turn",
    description:
      "202 `{turnId, messageId}`. While a turn is active: 409 `conversation_busy`, or with `queue: true` 202 `{queued: true, messageId}` (run as the next turn).",
    body: PostMessageBody,
    ok: { status: 202, schema: PostMessageResult },
    errors: [404, 409, 503],
  },
  {
    method: "post",
    path: "/conversations/{id}/cancel",
    operationId: "cancelTurn",
    summary: "Cancel the active turn",
    ok: { status: 200, schema: CancelResult },
    errors: [404],
  },
  {
    method: "get",
    path: "/conversations/{id}/events",
    operationId: "streamEvents",
    summary: "The conversation's events as server-sent events, replayed from the log, then live",
    description: [
      "Each event is one SSE message: `id:` is its `seq`, `data:` its JSON (a `ConversationEvent`,",
      "discriminated by `type`); there is no `event:` field, so `EventSource.onmessage` sees them all.",
      "Comments (`: heartbeat`, every `server.heartbeatMs`) keep the connection open; `: closed <reason>`",
      "ends it (`slow_consumer` when the client fell too far behind, `shutdown`). Seqs run 1, 2, 3… with",
      "no gap: reconnect with `Last-Event-ID` (or `?after=`) set to the last `seq` seen to resume without",
      "a gap or a duplicate. Types other than the listed ones may come from extensions.",
    ].join(" "),
    query: z.object({
      after: z.number().int().min(0).optional().describe(afterDescription),
    }),
    headers: z.object({
      "Last-Event-ID": z
        .string()
        .regex(/^\d{1,15}$/)
        .optional()
        .describe("The last `seq` the client has (what EventSource sends when it reconnects)"),
    }),
    ok: { status: 200, schema: KnownConversationEvent, contentType: "text/event-stream" },
    errors: [400, 404],
  },
  {
    method: "get",
    path: "/providers",
    operationId: "listProviders",
    summary: "Providers with their slots and queues in grant order",
    ok: { status: 200, schema: ProviderList },
    errors: [],
  },
];

export { openApiDocument } from "./openapi-document.ts";
