import type { ApiOperation } from "@dispatch/transport-http";
import { CreateTaskBody, Slug, Task, TaskList, TaskResumeResult, TaskStatus } from "@dispatch/wire";
import { z } from "zod";

/** The OpenAPI entries of the `/tasks` routes (paths relative to `/tasks`). */
export const taskOperations: ApiOperation[] = [
  {
    method: "post",
    path: "/",
    operationId: "createTask",
    summary: "Queue a task",
    body: CreateTaskBody,
    ok: { status: 201, schema: Task },
    errors: [400, 401, 404, 415, 429],
  },
  {
    method: "get",
    path: "/",
    operationId: "listTasks",
    summary: "List tasks, newest first, with the workspaces whose task breaker is open",
    query: z.object({
      status: TaskStatus.optional().describe("Only tasks with this status"),
      workspaceId: Slug.optional().describe("Only tasks of this workspace"),
      limit: z.number().int().min(1).max(500).optional().describe("Page size, 1 to 500 (default 100)"),
      cursor: z.string().optional().describe("`nextCursor` of the previous page"),
    }),
    ok: { status: 200, schema: TaskList },
    errors: [400, 401],
  },
  {
    method: "get",
    path: "/{id}",
    operationId: "getTask",
    summary: "A task with its attempts",
    ok: { status: 200, schema: Task },
    errors: [401, 404],
  },
  {
    method: "post",
    path: "/{id}/cancel",
    operationId: "cancelTask",
    summary: "Cancel a task (and its running attempt)",
    ok: { status: 200, schema: Task },
    errors: [401, 404, 409],
  },
  {
    method: "post",
    path: "/{id}/retry",
    operationId: "retryTask",
    summary: "Queue a failed, stuck or cancelled task again",
    ok: { status: 200, schema: Task },
    errors: [401, 404, 409],
  },
  {
    method: "delete",
    path: "/{id}",
    operationId: "deleteTask",
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
    operationId: "resumeWorkspaceTasks",
    summary: "Close a workspace's task breaker now",
    ok: { status: 200, schema: TaskResumeResult },
    errors: [401],
  },
];
