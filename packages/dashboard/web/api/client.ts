/**
 * The dashboard's typed view of the API: plain `fetch` on the page's own origin (the session cookie
 * goes along by itself), typed with the wire schemas' types (types only: nothing of zod reaches the
 * bundle). Its namespaces and names follow `@dispatch/client` (`workspaces.list`, `conversations.send`,
 * …) so that swapping it for that package, once it lands, changes this file and not the views.
 */
import type {
  ActivityList,
  CancelResult,
  Conversation,
  Health,
  MemoryHistory,
  Message,
  PostMessageResult,
  ProviderInfo,
  SessionState,
  Task,
  TaskList,
  Workspace,
} from "@dispatch/wire";

/** A CLI agent as `GET /agents` lists it (the cli-agents extension's routes; 404 without it). */
export interface AgentInfo {
  conversationId: string;
  workspaceId: string;
  agentId: string;
  state: string;
  health: string;
  reason?: string;
  attempts: number;
  lastOutputAt: string | null;
  hostId: string | null;
}

/** An error answer of the API: its `code`, HTTP status and message. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
  }
}

/** Called on every 401, so the page can ask for the token again. */
let onUnauthorized: () => void = () => {};

/** Sets what happens when the API answers 401 (the app shows the login form). */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

const seg = encodeURIComponent;

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? { Accept: "application/json" } : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const json: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    if (res.status === 401 && !path.startsWith("/auth/")) onUnauthorized();
    throw new ApiError(error?.code ?? `http_${res.status}`, res.status, error?.message ?? res.statusText);
  }
  return json as T;
}

/** Every call the dashboard makes. */
export const api = {
  session: {
    get: () => call<SessionState>("GET", "/auth/session"),
    login: (token: string) => call<SessionState>("POST", "/auth/session", { token }),
    logout: () => call<void>("DELETE", "/auth/session"),
  },
  health: () => call<Health>("GET", "/health"),
  memory: () => call<MemoryHistory>("GET", "/telemetry/memory"),
  workspaces: {
    list: () => call<{ workspaces: Workspace[] }>("GET", "/workspaces"),
    get: (id: string) => call<Workspace>("GET", `/workspaces/${seg(id)}`),
    create: (body: { id: string; name?: string }) => call<Workspace>("POST", "/workspaces", body),
    star: (id: string) => call<Workspace>("PUT", `/workspaces/${seg(id)}/star`),
    unstar: (id: string) => call<Workspace>("DELETE", `/workspaces/${seg(id)}/star`),
  },
  conversations: {
    list: (workspaceId: string) =>
      call<{ conversations: Conversation[] }>("GET", `/workspaces/${seg(workspaceId)}/conversations`),
    create: (workspaceId: string, body: { title?: string } = {}) =>
      call<Conversation>("POST", `/workspaces/${seg(workspaceId)}/conversations`, body),
    get: (id: string) => call<Conversation>("GET", `/conversations/${seg(id)}`),
    messages: (id: string) => call<{ messages: Message[] }>("GET", `/conversations/${seg(id)}/messages`),
    send: (id: string, text: string) =>
      call<PostMessageResult>("POST", `/conversations/${seg(id)}/messages`, { text, queue: true }),
    cancel: (id: string) => call<CancelResult>("POST", `/conversations/${seg(id)}/cancel`),
    /** The SSE URL of a conversation's events after `seq` (EventSource resumes by `Last-Event-ID`). */
    eventsUrl: (id: string, after: number) => `/conversations/${seg(id)}/events?after=${after}`,
  },
  providers: { list: () => call<{ providers: ProviderInfo[] }>("GET", "/providers") },
  tasks: {
    list: (query: { status?: string; limit?: number } = {}) => {
      const params = new URLSearchParams();
      if (query.status) params.set("status", query.status);
      if (query.limit) params.set("limit", String(query.limit));
      const qs = params.toString();
      return call<TaskList>("GET", `/tasks${qs ? `?${qs}` : ""}`);
    },
    create: (body: { workspaceId: string; spec: string; title?: string }) =>
      call<Task>("POST", "/tasks", body),
    cancel: (id: string) => call<Task>("POST", `/tasks/${seg(id)}/cancel`),
    retry: (id: string) => call<Task>("POST", `/tasks/${seg(id)}/retry`),
  },
  agents: {
    list: () => call<{ agents: AgentInfo[] }>("GET", "/agents"),
    /** Text pasted into the agent's pane as it is (a newline is Enter), or tmux key names (`C-c`). */
    input: (conversationId: string, body: { text: string } | { keys: string[] }) =>
      call<{ conversationId: string; sent: string }>(
        "POST",
        `/conversations/${seg(conversationId)}/input`,
        body,
      ),
  },
  activity: {
    list: () => call<ActivityList>("GET", "/activity"),
    /** The SSE URL of new activity after `lastId` (or from now on). */
    streamUrl: (after: string | null) =>
      after === null ? "/activity/stream" : `/activity/stream?after=${seg(after)}`,
  },
};
