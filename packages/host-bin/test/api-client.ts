import type { AppType } from "@dispatch/transport-http";
import { sseMessages } from "@dispatch/transport-http/testing";
import { hc } from "hono/client";

/** The typed client for a served host. */
export function apiClient(url: string) {
  return hc<AppType>(url);
}

/** One conversation event as the API returns it. */
export interface ApiEvent {
  seq: number;
  type: string;
  turnId: string | null;
  data: Record<string, unknown>;
}

const finalStatuses = new Set(["completed", "failed", "cancelled", "interrupted"]);

/** Polls a conversation until its turn reaches a final status; returns that status. */
export async function waitForTurnEnd(
  url: string,
  conversationId: string,
  timeoutMs = 20_000,
): Promise<string> {
  const client = apiClient(url);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const conv = await (await client.conversations[":id"].$get({ param: { id: conversationId } })).json();
    if (finalStatuses.has(conv.status)) return conv.status;
    if (Date.now() > deadline) throw new Error(`turn of ${conversationId} still ${conv.status}`);
    await Bun.sleep(25);
  }
}

/** Reads a conversation's event log from the start through the SSE route until `done` says so. */
export async function readEvents(
  url: string,
  conversationId: string,
  done: (events: ApiEvent[]) => boolean,
): Promise<ApiEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  const res = await fetch(`${url}/conversations/${conversationId}/events?after=0`, {
    signal: controller.signal,
  });
  const events: ApiEvent[] = [];
  try {
    if (done(events)) return events;
    for await (const { data } of sseMessages(res.body as ReadableStream<Uint8Array>)) {
      events.push(JSON.parse(data) as ApiEvent);
      if (done(events)) break;
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

/** Creates a conversation in a workspace and posts one message; returns the conversation id. */
export async function startTurn(url: string, workspaceId: string, text: string): Promise<string> {
  const client = apiClient(url);
  const conv = await (
    await client.workspaces[":id"].conversations.$post({ param: { id: workspaceId }, json: {} })
  ).json();
  const posted = await client.conversations[":id"].messages.$post({ param: { id: conv.id }, json: { text } });
  if (posted.status !== 202)
    throw new Error(`posting a message answered ${posted.status}: ${await posted.text()}`);
  return conv.id;
}
