import type { ConversationStore } from "@dispatch/conversation-store";
import { DispatchError } from "@dispatch/kernel";
import { type ApiOperation, jsonBody } from "@dispatch/transport-http";
import {
  AgentInputBody,
  type AgentInputResult,
  AgentList,
  AgentInputResult as InputResultSchema,
} from "@dispatch/wire";
import { Hono } from "hono";
import type { AgentSupervisor } from "./supervisor.ts";

/** What the routes need. */
export interface AgentRoutesDeps {
  supervisor(): AgentSupervisor | { unavailable: string };
  store: Pick<ConversationStore, "conversations">;
}

/** `GET /agents` (mounted at `/agents`): every CLI agent session, as copies. */
export function agentListRoutes(deps: Pick<AgentRoutesDeps, "supervisor">): Hono {
  return new Hono().get("/", (c) => {
    const supervisor = deps.supervisor();
    const body: AgentList = { agents: "unavailable" in supervisor ? [] : supervisor.list() };
    return c.json(body);
  });
}

/** `POST /conversations/:id/input` (mounted at `/conversations`): raw input to the agent's session. */
export function agentInputRoutes(deps: AgentRoutesDeps): Hono {
  return new Hono().post("/:id/input", jsonBody(AgentInputBody), async (c) => {
    const id = c.req.param("id");
    if ((await deps.store.conversations.get(id)) === undefined) {
      throw new DispatchError("not_found", `conversation "${id}" does not exist`);
    }
    const supervisor = deps.supervisor();
    if ("unavailable" in supervisor) throw new DispatchError("conflict", supervisor.unavailable);
    const body = c.req.valid("json");
    await supervisor.input(id, body);
    const result: AgentInputResult = { conversationId: id, sent: "text" in body ? "text" : "keys" };
    return c.json(result, 202);
  });
}

/** OpenAPI entries of `/agents` (paths relative to it). */
export const agentListOperations: ApiOperation[] = [
  {
    method: "get",
    path: "/",
    summary: "CLI agent sessions: state, health, attempts in the running turn, last output",
    ok: { status: 200, schema: AgentList },
    errors: [401],
  },
];

/** OpenAPI entries of the input route (paths relative to `/conversations`). */
export const agentInputOperations: ApiOperation[] = [
  {
    method: "post",
    path: "/{id}/input",
    summary:
      "Send raw input to the conversation's CLI agent: {text} pasted as is, or {keys} (tmux key names)",
    body: AgentInputBody,
    ok: { status: 202, schema: InputResultSchema },
    errors: [400, 401, 404, 409, 415],
  },
];
