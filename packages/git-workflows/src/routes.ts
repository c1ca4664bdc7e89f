import { DispatchError } from "@dispatch/kernel";
import type { ApiOperation } from "@dispatch/transport-http";
import { Worktree, WorktreeList } from "@dispatch/wire";
import { Hono } from "hono";
import type { GitRuntime } from "./runtime.ts";
import { toWorktree } from "./worktree-store.ts";

const idPattern = /^[A-Za-z0-9_-]{1,100}$/;

/** The worktree routes, mounted at `/worktrees`; a worktree's id is its task's or conversation's. */
export function worktreeRoutes(runtime: () => GitRuntime) {
  const existing = async (id: string) => {
    const row = idPattern.test(id) ? await runtime().store.get(id) : undefined;
    if (row === undefined)
      throw new DispatchError("not_found", `worktree "${id.slice(0, 100)}" does not exist`);
    return row;
  };
  return new Hono()
    .get("/", async (c) => {
      const workspaceId = c.req.query("workspaceId");
      const rows = await runtime().store.list(workspaceId);
      return c.json({ worktrees: rows.map(toWorktree) });
    })
    .get("/:id", async (c) => c.json(toWorktree(await existing(c.req.param("id")))))
    .post("/:id/push", async (c) => {
      const row = await existing(c.req.param("id"));
      return c.json(toWorktree(await runtime().pusher.pushNow(row.id)));
    });
}

/** The OpenAPI entries of the `/worktrees` routes (paths relative to `/worktrees`). */
export const worktreeOperations: ApiOperation[] = [
  {
    method: "get",
    path: "/",
    summary: "Worktrees of tasks and conversations, newest first (filter workspaceId)",
    ok: { status: 200, schema: WorktreeList },
    errors: [401],
  },
  {
    method: "get",
    path: "/{id}",
    summary: "A worktree (id: its task's or conversation's) with its hold, commits and push state",
    ok: { status: 200, schema: Worktree },
    errors: [401, 404],
  },
  {
    method: "post",
    path: "/{id}/push",
    summary:
      "Push the worktree's branch to git.remote now, with a fresh set of attempts; answers after the first try (pushStatus pushed, or pending with nextPushAt, or failed with pushError)",
    ok: { status: 200, schema: Worktree },
    errors: [400, 401, 404],
  },
];
