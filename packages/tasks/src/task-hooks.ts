import { createExtensionPoint, createServiceRef } from "@dispatch/kernel";
import type { Task } from "@dispatch/wire";
import type { TaskOptions } from "./types.ts";

/** One attempt of a task, as the hooks see it. */
export interface AttemptContext {
  readonly task: {
    readonly id: string;
    readonly workspaceId: string;
    readonly title: string;
    readonly options: TaskOptions;
  };
  /** The attempt number, from 1. */
  readonly n: number;
  /** The attempt's headless conversation. */
  readonly conversationId: string;
  /** Aborts when the scheduler stops (host shutdown): cut long work short. */
  readonly signal: AbortSignal;
}

/** What a hook says about an attempt. */
export interface AttemptVerdict {
  /** The attempt fails: retried after the backoff when `retryable` and attempts remain, else final. */
  failure?: { code: string; message: string; retryable: boolean };
  /** Merged into the task's `result` (on success and on failure alike). */
  result?: Record<string, unknown>;
}

/** How an attempt ended, for `attemptEnded`. */
export type AttemptEnd = "completed" | "failed" | "stuck" | "interrupted" | "cancelled";

/**
 * Work around each attempt of a task, contributed to `taskHooksPoint` (git worktrees and validation,
 * DESIGN §13). Hooks run in contribution order; a throw counts as a final failure with its message.
 */
export interface TaskHooks {
  /** Unique among hooks (the contributor's id will do). */
  readonly id: string;
  /** The attempt's conversation exists and its turn has not started: prepare, or refuse the attempt. */
  beforeTurn?(attempt: AttemptContext): Promise<AttemptVerdict | undefined>;
  /**
   * The attempt's turn completed; the attempt is filed after every hook has answered, so what runs
   * here (validation) still belongs to the attempt. A failure fails the attempt.
   */
  afterTurn?(attempt: AttemptContext & { readonly turnId: string }): Promise<AttemptVerdict | undefined>;
  /**
   * The attempt was filed (its outcome and the task's result are stored), on every path, also when
   * `beforeTurn` refused it; release what `beforeTurn` took. Not called for attempts a crash ended
   * (start-up recovery files those). Must not throw.
   */
  attemptEnded?(attempt: AttemptContext & { readonly outcome: AttemptEnd }): Promise<void>;
}

/** The extension point through which task hooks are added. */
export const taskHooksPoint = createExtensionPoint<TaskHooks>({
  id: "tasks.hooks",
  keyOf: (hooks) => hooks.id,
});

/** What the tasks extension lets other extensions do to tasks. */
export interface TasksService {
  /**
   * Merges `patch` into a task's `result` (a push that finished after the task did) and publishes
   * `task.changed` (`updated`); undefined when the task is gone.
   */
  patchResult(taskId: string, patch: Record<string, unknown>): Promise<Task | undefined>;
}

/** The service ref of the tasks extension. */
export const tasksRef = createServiceRef<TasksService>("tasks");
