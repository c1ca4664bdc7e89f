import { DispatchError } from "@dispatch/kernel";
import { jsonBody } from "@dispatch/transport-http";
import { CreateTaskBody, TaskStatus } from "@dispatch/wire";
import { Hono } from "hono";
import type { TaskQueue } from "./task-queue.ts";
import type { TaskScheduler } from "./task-scheduler.ts";

const idPattern = /^[A-Za-z0-9_-]{1,100}$/;

/** The task routes of DESIGN §12, mounted at `/tasks`. */
export function taskRoutes(queue: TaskQueue, scheduler: TaskScheduler) {
  const existing = async (id: string) => {
    const task = idPattern.test(id) ? await queue.get(id) : undefined;
    if (task === undefined) throw new DispatchError("not_found", `task "${id.slice(0, 100)}" does not exist`);
    return task;
  };
  return new Hono()
    .post("/", jsonBody(CreateTaskBody), async (c) => {
      const body = c.req.valid("json");
      const { workspaceId, spec, title, priority, maxAttempts, ...options } = body;
      const task = await queue.create({ workspaceId, spec, title, priority, maxAttempts, options });
      void scheduler.kick();
      return c.json(task, 201);
    })
    .get("/", async (c) => {
      const status = c.req.query("status");
      const parsedStatus = status === undefined ? undefined : TaskStatus.safeParse(status);
      if (parsedStatus !== undefined && !parsedStatus.success) {
        throw new DispatchError("invalid_request", `status must be one of ${TaskStatus.options.join(", ")}`, {
          details: { field: "status" },
        });
      }
      const limitText = c.req.query("limit");
      const limit = limitText === undefined ? undefined : Number(limitText);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 500)) {
        throw new DispatchError("invalid_request", "limit must be an integer from 1 to 500", {
          details: { field: "limit" },
        });
      }
      const page = await queue.list({
        status: parsedStatus?.data,
        workspaceId: c.req.query("workspaceId"),
        limit,
        cursor: c.req.query("cursor"),
      });
      const breakers = await queue.openBreakers();
      return c.json({
        ...page,
        breakers: breakers.map((b) => ({ ...b, openUntil: new Date(b.openUntil).toISOString() })),
      });
    })
    .get("/:id", async (c) => c.json(await existing(c.req.param("id"))))
    .post("/:id/cancel", async (c) => {
      const task = await existing(c.req.param("id"));
      return c.json(await scheduler.cancel(task.id));
    })
    .post("/:id/retry", async (c) => {
      const task = await existing(c.req.param("id"));
      const retried = await queue.retry(task.id);
      void scheduler.kick();
      return c.json(retried);
    })
    .delete("/:id", async (c) => {
      const task = await existing(c.req.param("id"));
      await queue.delete(task.id);
      return c.body(null, 204);
    });
}

/** `POST /workspaces/:id/tasks/resume`, mounted at `/workspaces`. */
export function resumeRoutes(queue: TaskQueue, scheduler: TaskScheduler) {
  return new Hono().post("/:id/tasks/resume", async (c) => {
    const workspaceId = c.req.param("id");
    await queue.resume(workspaceId);
    void scheduler.kick();
    return c.json({ workspaceId, resumed: true });
  });
}
