import { PostMessageBody } from "@dispatch/wire";
import { Hono } from "hono";
import type { ApiDeps } from "../deps.ts";
import { invalidRequest, notFound } from "../error-response.ts";
import { jsonBody } from "../middleware/json-body.ts";
import { listQuery } from "../middleware/list-query.ts";
import type { SseHub } from "../sse-hub.ts";

const idPattern = /^[A-Za-z0-9_-]{1,100}$/;

/** Parses the resume point: `Last-Event-ID` wins over `?after=`; both must be whole numbers >= 0. */
function resumeAfter(header: string | undefined, query: string | undefined): number {
  const raw = header ?? query;
  if (raw === undefined || raw === "") return 0;
  if (!/^\d{1,15}$/.test(raw.trim())) {
    throw invalidRequest("Last-Event-ID / after must be a whole number >= 0", { field: "after" });
  }
  return Number(raw.trim());
}

/** A conversation, its messages, posting a message (starts a turn), cancel, and the SSE event stream. */
export function conversationRoutes(deps: ApiDeps, sse: SseHub) {
  const { store, orchestrator } = deps;
  const missing = (id: string) => notFound(`conversation "${id.slice(0, 100)}" does not exist`);
  const existing = async (id: string) => {
    const conv = idPattern.test(id) ? await store.conversations.get(id) : undefined;
    if (!conv) throw missing(id);
    return conv;
  };
  /** An id fit to look up; the orchestrator answers not_found for one that names nothing. */
  const conversationId = (id: string) => {
    if (!idPattern.test(id)) throw missing(id);
    return id;
  };

  return new Hono()
    .get("/conversations/:id", async (c) => c.json(await existing(c.req.param("id"))))
    .get("/conversations/:id/messages", listQuery(), async (c) => {
      const conv = await existing(c.req.param("id"));
      const page = await store.messages.page(conv.id, c.req.valid("query"));
      return c.json({ messages: page.items, nextCursor: page.nextCursor });
    })
    .post("/conversations/:id/messages", jsonBody(PostMessageBody), async (c) => {
      // No read of the conversation first (its status needs two subqueries): starting the turn
      // finds it, from the orchestrator's cache, or answers not_found (hot path, issue 25).
      const id = conversationId(c.req.param("id"));
      const { text, queue } = c.req.valid("json");
      if (queue === true) {
        const result = await orchestrator.queueMessage({ conversationId: id, text });
        return c.json(
          result.queued
            ? { queued: true as const, messageId: result.messageId }
            : { turnId: result.turnId, messageId: result.messageId },
          202,
        );
      }
      const result = await orchestrator.startTurn({ conversationId: id, text });
      return c.json(result, 202);
    })
    .post("/conversations/:id/cancel", async (c) => {
      const conv = await existing(c.req.param("id"));
      return c.json(await orchestrator.cancelTurn(conv.id));
    })
    .get("/conversations/:id/events", async (c) => {
      const conv = await existing(c.req.param("id"));
      const after = resumeAfter(c.req.header("last-event-id"), c.req.query("after"));
      const subscription = orchestrator.subscribe(conv.id, after, {
        maxBuffered: deps.config.sseBufferEvents,
      });
      return sse.open(subscription, c.req.raw);
    });
}
