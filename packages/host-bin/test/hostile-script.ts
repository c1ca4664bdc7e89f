import { apiClient } from "./api-client.ts";

/** A scripted provider whose replies are chosen by the user's text: `{ when, steps }` pairs. */
export function scriptedConfig(
  replies: Array<{ when: string; steps: unknown[] }>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    providers: [{ id: "scripted", kind: "scripted", maxConcurrent: 8, script: { replies } }],
    ...extra,
  };
}

/** One tool result of a conversation, as its messages hold it. */
export interface ToolOutcome {
  toolName: string;
  isError: boolean;
  output: string;
}

/** Every tool result stored for a conversation, in order. */
export async function toolOutcomes(url: string, conversationId: string): Promise<ToolOutcome[]> {
  const messages: Array<{
    parts: Array<{ type: string; toolName?: string; isError?: boolean; output?: unknown }>;
  }> = [];
  // the list is paged: read every page
  for (let cursor: string | null | undefined; ; ) {
    const query = cursor ? `?limit=500&cursor=${encodeURIComponent(cursor)}` : "?limit=500";
    const page = (await (await fetch(`${url}/conversations/${conversationId}/messages${query}`)).json()) as {
      messages: Array<{
        parts: Array<{ type: string; toolName?: string; isError?: boolean; output?: unknown }>;
      }>;
      nextCursor: string | null;
    };
    messages.push(...page.messages);
    cursor = page.nextCursor;
    if (cursor === null) break;
  }
  return messages
    .flatMap((m) => m.parts)
    .flatMap((p) =>
      p.type === "tool-result"
        ? [{ toolName: String(p.toolName), isError: p.isError === true, output: String(p.output) }]
        : [],
    );
}

/** Polls a conversation until its status is `status`. */
export async function waitForStatus(url: string, conversationId: string, status: string, timeoutMs = 20_000) {
  const client = apiClient(url);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const conv = await (await client.conversations[":id"].$get({ param: { id: conversationId } })).json();
    if (conv.status === status) return;
    if (Date.now() > deadline)
      throw new Error(`conversation ${conversationId} is ${conv.status}, not ${status}`);
    await Bun.sleep(25);
  }
}
