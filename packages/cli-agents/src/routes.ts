import type { ConversationStore } from "@dispatch/conversation-store";
import { DispatchError } from "@dispatch/kernel";
import { jsonBody } from "@dispatch/transport-http";
import { Hono } from "hono";
import { z } from "zod";
import type { AgentInfo, AgentInput, AgentSupervisor } from "./supervisor.ts";

/** A tmux key name: `Enter`, `C-c`, `M-x`, `F1`, `y`, `BSpace` (tmux sends an unknown name as its letters). */
const keyName = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[\x21-\x7e]+$/, "must be a tmux key name such as Enter, C-c or y");

/** The body of `POST /conversations/:id/input`: literal text, or keys. */
export const AgentInputBody = z.union([
  z
    .object({
      text: z
        .string()
        .min(1)
        .max(1024 * 1024),
    })
    .strict(),
  z.object({ keys: z.array(keyName).min(1).max(64) }).strict(),
]);

/** `GET /agents`. */
export interface AgentsResponse {
  agents: AgentInfo[];
}

/** What the routes need. */
export interface AgentRoutesDeps {
  supervisor(): AgentSupervisor | { unavailable: string };
  store: Pick<ConversationStore, "conversations">;
}

/** The sub-apps this extension mounts, by path prefix (the mount itself is the extension's). */
export function agentRoutes(deps: AgentRoutesDeps): Array<{ path: string; app: Hono }> {
  const agents = new Hono().get("/", (c) => {
    const supervisor = deps.supervisor();
    const body: AgentsResponse = { agents: "unavailable" in supervisor ? [] : supervisor.list() };
    return c.json(body);
  });
  const input = new Hono().post("/:id/input", jsonBody(AgentInputBody), async (c) => {
    const id = c.req.param("id");
    if ((await deps.store.conversations.get(id)) === undefined) {
      throw new DispatchError("not_found", `conversation "${id}" does not exist`);
    }
    const supervisor = deps.supervisor();
    if ("unavailable" in supervisor) throw new DispatchError("conflict", supervisor.unavailable);
    const body = c.req.valid("json") as AgentInput;
    await supervisor.input(id, body);
    return c.json({ conversationId: id, sent: "text" in body ? "text" : "keys" }, 202);
  });
  return [
    { path: "/agents", app: agents },
    { path: "/conversations", app: input },
  ];
}
