import type { ApiOperation } from "@dispatch/transport-http";
import { CreateTaskBody, Task, TaskList } from "@dispatch/wire";
import { z } from "zod";

/** The OpenAPI entries of the `/tasks` routes (paths relative to `/tasks`). */
export const taskOperations: ApiOperation[] = [
  {
    method: "post",
    path: "/",
    summary: "Queue a task",
    body: CreateTaskBody,
    ok: { status: 201, schema: Task },
    errors: [400, 401, 404, 415, 429],
  },
  {
    method: "get",
    path: "/",
    summary: "List tasks, newest first (filters status, workspaceId; limit ≤ 500; cursor)",
    ok: { status: 200, schema: TaskList },
    errors: [400, 401],
  },
  {
    method: "get",
    path: "/{id}",
    summary: "A task with its attempts",
    ok: { status: 200, schema: Task },
    errors: [401, 404],
  },
  {
    method: "post",
    path: "/{id}/cancel",
    summary: "Cancel a task (and its running attempt)",
    ok: { status: 200, schema: Task },
    errors: [401, 404, 409],
  },
  {
    method: "post",
    path: "/{id}/retry",
    summary: "Queue a failed, stuck or cancelled task again",
    ok: { status: 200, schema: Task },
    errors: [401, 404, 409],
  },
  {
    method: "delete",
    path: "/{id}",
    summary: "Delete a final task",
    ok: { status: 204 },
    errors: [401, 404, 409],
  },
];

/** The OpenAPI entry of `POST /workspaces/:id/tasks/resume` (relative to `/workspaces`). */
export const resumeOperations: ApiOperation[] = [
  {
    method: "post",
    path: "/{id}/tasks/resume",
    summary: "Close a workspace's task breaker now",
    ok: { status: 200, schema: z.object({ workspaceId: z.string(), resumed: z.literal(true) }) },
    errors: [401],
  },
];
