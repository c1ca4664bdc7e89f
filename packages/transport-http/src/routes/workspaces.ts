import { join } from "node:path";
import { DispatchError } from "@dispatch/kernel";
import { CreateConversationBody, CreateWorkspaceBody, Slug, UpdateWorkspaceBody } from "@dispatch/wire";
import { Hono } from "hono";
import type { ApiDeps } from "../deps.ts";
import { invalidRequest, notFound } from "../error-response.ts";
import { jsonBody } from "../middleware/json-body.ts";
import { listQuery } from "../middleware/list-query.ts";

/** Checks a `:id` path segment before it reaches the store. */
function workspaceId(raw: string): string {
  if (!Slug.safeParse(raw).success) throw notFound(`workspace "${raw.slice(0, 80)}" does not exist`);
  return raw;
}

/** Workspace CRUD, star/unstar, and the conversations of a workspace. */
export function workspaceRoutes(deps: ApiDeps) {
  const { store } = deps;
  const existing = async (id: string) => {
    const ws = await store.workspaces.get(workspaceId(id));
    if (!ws) throw notFound(`workspace "${id}" does not exist`);
    return ws;
  };
  const checkHost = (hostId: string | null | undefined) => {
    if (hostId === undefined || hostId === null || !deps.backends) return;
    try {
      deps.backends.forHost(hostId);
    } catch {
      throw invalidRequest(`hostId "${hostId}" is not a configured host (see "hosts" in the config)`, {
        field: "hostId",
      });
    }
  };

  return new Hono()
    .get("/workspaces", listQuery(), async (c) => {
      const page = await store.workspaces.page(c.req.valid("query"));
      return c.json({ workspaces: page.items, nextCursor: page.nextCursor });
    })
    .post("/workspaces", jsonBody(CreateWorkspaceBody), async (c) => {
      const body = c.req.valid("json");
      checkHost(body.hostId);
      const root = body.root ?? join(deps.host.dataDir, "workspaces", body.id);
      const ws = await store.workspaces.create({
        id: body.id,
        name: body.name ?? body.id,
        root,
        hostId: body.hostId ?? null,
        ...(body.network === undefined ? {} : { network: body.network }),
        ...(body.permissions === undefined ? {} : { permissions: body.permissions }),
      });
      return c.json(ws, 201);
    })
    .get("/workspaces/:id", async (c) => c.json(await existing(c.req.param("id"))))
    .patch("/workspaces/:id", jsonBody(UpdateWorkspaceBody), async (c) => {
      const body = c.req.valid("json");
      checkHost(body.hostId);
      return c.json(await store.workspaces.update(workspaceId(c.req.param("id")), body));
    })
    .delete("/workspaces/:id", async (c) => {
      const ws = await existing(c.req.param("id"));
      const busy = (await store.conversations.listByWorkspace(ws.id)).find(
        (conv) => conv.activeTurnId !== null,
      );
      if (busy) {
        throw new DispatchError(
          "conflict",
          `workspace "${ws.id}" has an active turn in conversation ${busy.id}; cancel it first`,
        );
      }
      await store.workspaces.delete(ws.id);
      return c.body(null, 204);
    })
    .put("/workspaces/:id/star", async (c) =>
      c.json(await store.workspaces.star(workspaceId(c.req.param("id")))),
    )
    .delete("/workspaces/:id/star", async (c) =>
      c.json(await store.workspaces.unstar(workspaceId(c.req.param("id")))),
    )
    .get("/workspaces/:id/conversations", listQuery(), async (c) => {
      const ws = await existing(c.req.param("id"));
      const page = await store.conversations.pageByWorkspace(ws.id, c.req.valid("query"));
      return c.json({ conversations: page.items, nextCursor: page.nextCursor });
    })
    .post("/workspaces/:id/conversations", jsonBody(CreateConversationBody), async (c) => {
      const ws = await existing(c.req.param("id"));
      const body = c.req.valid("json");
      const conv = await deps.orchestrator.createConversation({ workspaceId: ws.id, ...body });
      return c.json(conv, 201);
    });
}
