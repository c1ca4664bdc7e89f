import { z } from "zod";
import { GitRef } from "./git.ts";
import { IsoTime } from "./iso-time.ts";
import { Slug } from "./schemas.ts";

/** Input limits of a task (DESIGN §12). */
export const taskLimits = {
  specBytes: 1024 * 1024,
  title: 200,
  priority: 1000,
} as const;

/** Lifecycle of a task; `completed`, `failed` and `cancelled` are final, `stuck` is retried or fails. */
export const TaskStatus = z.enum(["queued", "running", "completed", "failed", "stuck", "cancelled"]);
export type TaskStatus = z.infer<typeof TaskStatus>;

/** How one attempt ended (or `running`). */
export const AttemptStatus = z.enum(["running", "completed", "failed", "stuck", "interrupted", "cancelled"]);
export type AttemptStatus = z.infer<typeof AttemptStatus>;

/** A validation command run in the task's worktree after the agent finishes (DESIGN §13). */
export const TaskValidate = z
  .object({
    command: z.string().min(1).max(4096),
    timeoutMs: z.number().int().min(1).max(3_600_000).default(300_000),
  })
  .strict();

/** One attempt of a task: a headless conversation of its workspace. */
export const TaskAttempt = z.object({
  n: z.number().int(),
  conversationId: z.string().nullable(),
  turnId: z.string().nullable(),
  status: AttemptStatus,
  startedAt: IsoTime,
  endedAt: IsoTime.nullable(),
  error: z.string().nullable(),
});
export type TaskAttempt = z.infer<typeof TaskAttempt>;

/** A task as the API shows it. */
export const Task = z.object({
  id: z.string(),
  workspaceId: Slug,
  title: z.string(),
  spec: z.string(),
  status: TaskStatus,
  priority: z.number().int(),
  attempt: z.number().int(),
  maxAttempts: z.number().int(),
  nextRunAt: IsoTime.nullable(),
  conversationId: z.string().nullable(),
  lastError: z.string().nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
  attempts: z.array(TaskAttempt),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type Task = z.infer<typeof Task>;

/** Body of `POST /tasks`. */
export const CreateTaskBody = z
  .object({
    workspaceId: Slug,
    spec: z
      .string()
      .min(1, "must not be empty")
      .refine(
        (s) => Buffer.byteLength(s, "utf8") <= taskLimits.specBytes,
        `must be at most ${taskLimits.specBytes} bytes`,
      ),
    title: z.string().min(1).max(taskLimits.title).optional(),
    priority: z.number().int().min(-taskLimits.priority).max(taskLimits.priority).optional(),
    maxAttempts: z.number().int().min(1).max(20).optional(),
    maxSteps: z.number().int().min(1).max(1000).optional(),
    runner: z.string().min(1).max(165).optional(),
    provider: Slug.optional(),
    model: z.string().min(1).max(200).optional(),
    worktree: z.boolean().optional(),
    /** With `worktree`: what the task's branch starts from (default the workspace's `HEAD`). */
    baseRef: GitRef.optional(),
    validate: TaskValidate.optional(),
  })
  .strict()
  .refine((body) => body.baseRef === undefined || body.worktree === true, {
    message: "baseRef needs worktree: true",
    path: ["baseRef"],
  });
export type CreateTaskBody = z.input<typeof CreateTaskBody>;

/** A workspace whose task breaker is open: its queued tasks wait until `openUntil` (DESIGN §12). */
export const TaskBreaker = z.object({
  workspaceId: Slug,
  failures: z.number().int(),
  openUntil: IsoTime,
});
export type TaskBreaker = z.infer<typeof TaskBreaker>;

/** `GET /tasks` answer: a page of tasks, the cursor of the next (null at the end), and open breakers. */
export const TaskList = z.object({
  tasks: z.array(Task),
  nextCursor: z.string().nullable(),
  breakers: z.array(TaskBreaker),
});
export type TaskList = z.infer<typeof TaskList>;

/** Answer to `POST /workspaces/:id/tasks/resume`. */
export const TaskResumeResult = z.object({ workspaceId: z.string(), resumed: z.literal(true) });
export type TaskResumeResult = z.infer<typeof TaskResumeResult>;
