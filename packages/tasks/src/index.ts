export { type TasksConfig, tasksConfigSchema } from "./config.ts";
export { dayKey, nextDayStart } from "./day-key.ts";
export { tasksExtension } from "./extension.ts";
export { type AttemptFailure, backoffMs, classifyFailure } from "./retry-policy.ts";
export {
  type AttemptContext,
  type AttemptEnd,
  type AttemptVerdict,
  type TaskHooks,
  type TasksService,
  taskHooksPoint,
  tasksRef,
} from "./task-hooks.ts";
export { type NewTask, TaskQueue, type TaskQueueDeps } from "./task-queue.ts";
export { maxPageSize } from "./task-reads.ts";
export { type SchedulerDeps, TaskScheduler } from "./task-scheduler.ts";
export type { ClaimedTask, ClaimRefusal, StatusCounts, TaskChange, TaskOptions } from "./types.ts";
