import {
  CancelResult,
  Conversation,
  ConversationEvent,
  ConversationList,
  CreateConversationBody,
  CreateWorkspaceBody,
  ErrorBody,
  Health,
  HealthSummary,
  ListQuery,
  MessageList,
  PostMessageBody,
  PostMessageResult,
  ProviderInfo,
  UpdateWorkspaceBody,
  Workspace,
  WorkspaceList,
} from "@dispatch/wire";
import { z } from "zod";

interface Operation {
  method: "get" | "post" | "put" | "patch" | "delete";
  path: string;
  summary: string;
  body?: z.ZodType;
  /** Query parameters, each documented from its schema (lists take `ListQuery`). */
  query?: z.ZodObject;
  ok: { status: number; schema?: z.ZodType; contentType?: string };
  errors: number[];
}

/** A list envelope such as `{ providers: [...] }`, for the short lists that are not paged. */
const list = (key: string, item: z.ZodType) => z.object({ [key]: z.array(item) });

/** Every route of the API with its schemas: the single source the OpenAPI document is generated from. */
export const operations: Operation[] = [
  {
    method: "get",
    path: "/health",
    summary: "Service health; with a token configured and none given, only `{status, version}`",
    ok: { status: 200, schema: z.union([Health, HealthSummary]) },
    errors: [],
  },
  {
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics",
    ok: { status: 200, contentType: "text/plain" },
    errors: [401],
  },
  { method: "get", path: "/openapi.json", summary: "This document", ok: { status: 200 }, errors: [401] },
  {
    method: "get",
    path: "/workspaces",
    summary: "List workspaces, starred first, then by name; paged by `limit` and `cursor`",
    query: ListQuery,
    ok: { status: 200, schema: WorkspaceList },
    errors: [400, 401],
  },
  {
    method: "post",
    path: "/workspaces",
    summary: "Create a workspace",
    body: CreateWorkspaceBody,
    ok: { status: 201, schema: Workspace },
    errors: [400, 401, 409, 413, 415],
  },
  {
    method: "get",
    path: "/workspaces/{id}",
    summary: "Get a workspace",
    ok: { status: 200, schema: Workspace },
    errors: [401, 404],
  },
  {
    method: "patch",
    path: "/workspaces/{id}",
    summary: "Update a workspace",
    body: UpdateWorkspaceBody,
    ok: { status: 200, schema: Workspace },
    errors: [400, 401, 404, 413, 415],
  },
  {
    method: "delete",
    path: "/workspaces/{id}",
    summary: "Delete a workspace (not `default`, not with an active turn)",
    ok: { status: 204 },
    errors: [401, 404, 409],
  },
  {
    method: "put",
    path: "/workspaces/{id}/star",
    summary: "Star a workspace (idempotent); its queued turns move ahead at once",
    ok: { status: 200, schema: Workspace },
    errors: [401, 404],
  },
  {
    method: "delete",
    path: "/workspaces/{id}/star",
    summary: "Unstar a workspace (idempotent)",
    ok: { status: 200, schema: Workspace },
    errors: [401, 404],
  },
  {
    method: "get",
    path: "/workspaces/{id}/conversations",
    summary: "List a workspace's conversations, newest first; paged by `limit` and `cursor`",
    query: ListQuery,
    ok: { status: 200, schema: ConversationList },
    errors: [400, 401, 404],
  },
  {
    method: "post",
    path: "/workspaces/{id}/conversations",
    summary: "Create a conversation",
    body: CreateConversationBody,
    ok: { status: 201, schema: Conversation },
    errors: [400, 401, 404, 413, 415],
  },
  {
    method: "get",
    path: "/conversations/{id}",
    summary: "Get a conversation with its status",
    ok: { status: 200, schema: Conversation },
    errors: [401, 404],
  },
  {
    method: "get",
    path: "/conversations/{id}/messages",
    summary: "List a conversation's messages, oldest first; paged by `limit` and `cursor`",
    query: ListQuery,
    ok: { status: 200, schema: MessageList },
    errors: [400, 401, 404],
  },
  {
    method: "post",
    path: "/conversations/{id}/messages",
    summary: "Post a user message; starts a turn",
    body: PostMessageBody,
    ok: { status: 202, schema: PostMessageResult },
    errors: [400, 401, 404, 409, 413, 415, 503],
  },
  {
    method: "post",
    path: "/conversations/{id}/cancel",
    summary: "Cancel the active turn",
    ok: { status: 200, schema: CancelResult },
    errors: [401, 404],
  },
  {
    method: "get",
    path: "/conversations/{id}/events",
    summary: "Server-sent events; `id:` is the seq; resume with Last-Event-ID or ?after=",
    ok: { status: 200, schema: ConversationEvent, contentType: "text/event-stream" },
    errors: [400, 401, 404],
  },
  {
    method: "get",
    path: "/providers",
    summary: "Providers with their slots and queues in grant order",
    ok: { status: 200, schema: list("providers", ProviderInfo) },
    errors: [401],
  },
];

const jsonSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { target: "draft-2020-12", unrepresentable: "any" });

/** Builds the OpenAPI 3.1 document from `operations`. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const responses: Record<string, unknown> = {
      [op.ok.status]: {
        description: "OK",
        ...(op.ok.schema || op.ok.contentType
          ? {
              content: {
                [op.ok.contentType ?? "application/json"]: op.ok.schema
                  ? { schema: jsonSchema(op.ok.schema) }
                  : {},
              },
            }
          : {}),
      },
    };
    for (const status of op.errors) {
      responses[status] = {
        description: "Error",
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      };
    }
    const params: Array<Record<string, unknown>> = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: "path",
      required: true,
      schema: { type: "string" },
    }));
    for (const [name, field] of Object.entries(op.query?.shape ?? {})) {
      const schema = jsonSchema(field as z.ZodType);
      const { description, ...rest } = schema as { description?: string };
      params.push({
        name,
        in: "query",
        required: false,
        ...(description ? { description } : {}),
        schema: rest,
      });
    }
    paths[op.path] = {
      ...paths[op.path],
      [op.method]: {
        summary: op.summary,
        ...(params.length > 0 ? { parameters: params } : {}),
        ...(op.body
          ? {
              requestBody: {
                // No body is read as `{}` (middleware/json-body.ts), so a body that may be `{}` is optional.
                required: !op.body.safeParse({}).success,
                content: { "application/json": { schema: jsonSchema(op.body) } },
              },
            }
          : {}),
        responses,
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Dispatch", version },
    components: {
      schemas: { Error: jsonSchema(ErrorBody) },
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
    security: [{ bearer: [] }],
    paths,
  };
}
