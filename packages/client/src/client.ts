import { conversationEvents, type EventStreamOptions } from "./event-stream.js";
import { type CallOptions, type ClientOptions, HttpTransport, type RequestSpec } from "./http.js";
import type {
  ApprovalBody,
  ApprovalResult,
  CancelResult,
  Conversation,
  ConversationEvent,
  ConversationList,
  CreateConversationBody,
  CreateTaskBody,
  CreateWorkspaceBody,
  Health,
  MessageList,
  PostMessageBody,
  PostMessageResult,
  ProviderList,
  Task,
  TaskList,
  TaskListQuery,
  TaskResumeResult,
  UpdateWorkspaceBody,
  Workspace,
  WorkspaceList,
} from "./types.js";

const seg = encodeURIComponent;

/** The client `createClient` returns: one namespace per resource, each call resolving to the API's JSON. */
export interface DispatchClient {
  /** `GET /health` (needs no token). */
  health(options?: CallOptions): Promise<Health>;
  /** `GET /metrics`: the Prometheus text. */
  metrics(options?: CallOptions): Promise<string>;
  /** `GET /openapi.json`. */
  openapi(options?: CallOptions): Promise<Record<string, unknown>>;
  workspaces: {
    /** `GET /workspaces`: starred first, then by name. */
    list(options?: CallOptions): Promise<WorkspaceList>;
    /** `GET /workspaces/{id}`. */
    get(id: string, options?: CallOptions): Promise<Workspace>;
    /** `POST /workspaces` (409 `conflict` when the id exists). */
    create(body: CreateWorkspaceBody, options?: CallOptions): Promise<Workspace>;
    /** `PATCH /workspaces/{id}`. */
    update(id: string, body: UpdateWorkspaceBody, options?: CallOptions): Promise<Workspace>;
    /** `DELETE /workspaces/{id}` (409 for `default` or with an active turn). */
    delete(id: string, options?: CallOptions): Promise<void>;
    /** `PUT /workspaces/{id}/star` (idempotent). */
    star(id: string, options?: CallOptions): Promise<Workspace>;
    /** `DELETE /workspaces/{id}/star` (idempotent). */
    unstar(id: string, options?: CallOptions): Promise<Workspace>;
  };
  conversations: {
    /** `GET /workspaces/{workspaceId}/conversations`: newest first. */
    list(workspaceId: string, options?: CallOptions): Promise<ConversationList>;
    /** `POST /workspaces/{workspaceId}/conversations`. */
    create(workspaceId: string, body?: CreateConversationBody, options?: CallOptions): Promise<Conversation>;
    /** `GET /conversations/{id}`: with its status. */
    get(id: string, options?: CallOptions): Promise<Conversation>;
    /** `GET /conversations/{id}/messages`: oldest first. */
    messages(id: string, options?: CallOptions): Promise<MessageList>;
    /**
     * `POST /conversations/{id}/messages`: starts a turn (`{turnId, messageId}`); 409
     * `conversation_busy` while one runs, unless `queue: true` (`{queued: true, messageId}`).
     */
    send(id: string, message: string | PostMessageBody, options?: CallOptions): Promise<PostMessageResult>;
    /** `POST /conversations/{id}/cancel`: the turn's status after the cancel. */
    cancel(id: string, options?: CallOptions): Promise<CancelResult>;
    /**
     * `POST /conversations/{id}/approvals/{toolCallId}`: answers a call waiting for approval (a
     * `tool.approval_requested` event); 404 `not_found` when none waits.
     */
    approve(
      id: string,
      toolCallId: string,
      body: ApprovalBody,
      options?: CallOptions,
    ): Promise<ApprovalResult>;
    /**
     * `GET /conversations/{id}/events` as an async iterable of events that resumes by itself
     * (`Last-Event-ID`) after a dropped connection or a host restart. Break out of the loop (or abort
     * `signal`) to stop it.
     */
    events(id: string, options?: EventStreamOptions): AsyncIterable<ConversationEvent>;
  };
  providers: {
    /** `GET /providers`: slots and queues in grant order. */
    list(options?: CallOptions): Promise<ProviderList>;
  };
  /** The task queue (routes of the built-in `tasks` extension; 404 when it is disabled). */
  tasks: {
    /** `POST /tasks` (429 `queue_full` past `tasks.maxQueued`). */
    create(body: CreateTaskBody, options?: CallOptions): Promise<Task>;
    /** `GET /tasks`: newest first; `nextCursor` pages on. */
    list(query?: TaskListQuery, options?: CallOptions): Promise<TaskList>;
    /** `GET /tasks/{id}`. */
    get(id: string, options?: CallOptions): Promise<Task>;
    /** `POST /tasks/{id}/cancel`. */
    cancel(id: string, options?: CallOptions): Promise<Task>;
    /** `POST /tasks/{id}/retry`. */
    retry(id: string, options?: CallOptions): Promise<Task>;
    /** `DELETE /tasks/{id}` (a final task only). */
    delete(id: string, options?: CallOptions): Promise<void>;
    /** `POST /workspaces/{workspaceId}/tasks/resume`: closes the workspace's task breaker. */
    resume(workspaceId: string, options?: CallOptions): Promise<TaskResumeResult>;
  };
  /**
   * Any route, for those extensions add: resolves to the answer's JSON (`undefined` for 204) as
   * `unknown`, to be checked by the caller.
   */
  request(spec: RequestSpec): Promise<unknown>;
}

/** A typed client for a Dispatch host. */
export function createClient(options: ClientOptions): DispatchClient {
  const http = new HttpTransport(options);
  const get = <T>(path: string, call?: CallOptions, query?: RequestSpec["query"]) =>
    http.json<T>({ method: "GET", path, query, ...call });
  const post = <T>(path: string, body: unknown, call?: CallOptions) =>
    http.json<T>({ method: "POST", path, body, ...call });
  return {
    health: (call) => get("/health", call),
    metrics: async (call) => (await http.send({ method: "GET", path: "/metrics", ...call })).text(),
    openapi: (call) => get("/openapi.json", call),
    workspaces: {
      list: (call) => get("/workspaces", call),
      get: (id, call) => get(`/workspaces/${seg(id)}`, call),
      create: (body, call) => post("/workspaces", body, call),
      update: (id, body, call) =>
        http.json({ method: "PATCH", path: `/workspaces/${seg(id)}`, body, ...call }),
      delete: (id, call) => http.json({ method: "DELETE", path: `/workspaces/${seg(id)}`, ...call }),
      star: (id, call) => http.json({ method: "PUT", path: `/workspaces/${seg(id)}/star`, ...call }),
      unstar: (id, call) => http.json({ method: "DELETE", path: `/workspaces/${seg(id)}/star`, ...call }),
    },
    conversations: {
      list: (workspaceId, call) => get(`/workspaces/${seg(workspaceId)}/conversations`, call),
      create: (workspaceId, body, call) =>
        post(`/workspaces/${seg(workspaceId)}/conversations`, body ?? {}, call),
      get: (id, call) => get(`/conversations/${seg(id)}`, call),
      messages: (id, call) => get(`/conversations/${seg(id)}/messages`, call),
      send: (id, message, call) =>
        post(
          `/conversations/${seg(id)}/messages`,
          typeof message === "string" ? { text: message } : message,
          call,
        ),
      cancel: (id, call) => post(`/conversations/${seg(id)}/cancel`, undefined, call),
      approve: (id, toolCallId, body, call) =>
        post(`/conversations/${seg(id)}/approvals/${seg(toolCallId)}`, body, call),
      events: (id, streamOptions) => conversationEvents(http, id, streamOptions),
    },
    providers: { list: (call) => get("/providers", call) },
    tasks: {
      create: (body, call) => post("/tasks", body, call),
      list: (query, call) => get("/tasks", call, query),
      get: (id, call) => get(`/tasks/${seg(id)}`, call),
      cancel: (id, call) => post(`/tasks/${seg(id)}/cancel`, undefined, call),
      retry: (id, call) => post(`/tasks/${seg(id)}/retry`, undefined, call),
      delete: (id, call) => http.json({ method: "DELETE", path: `/tasks/${seg(id)}`, ...call }),
      resume: (workspaceId, call) => post(`/workspaces/${seg(workspaceId)}/tasks/resume`, undefined, call),
    },
    request: (spec) => http.json(spec),
  };
}

/** The final event types of a turn: a loop over `events()` that waits for one turn stops at these. */
export const finalEventTypes: ReadonlySet<string> = new Set([
  "turn.completed",
  "turn.failed",
  "turn.cancelled",
  "turn.interrupted",
]);

/** True for an event that ends a turn (`turn.completed`, `turn.failed`, `turn.cancelled`, `turn.interrupted`). */
export function isFinalEvent(event: ConversationEvent): boolean {
  return finalEventTypes.has(event.type);
}
