import type { Task, TaskStatus } from "@dispatch/wire";

/** What each attempt's conversation and turn are made with. */
export interface TaskOptions {
  runner?: string;
  provider?: string;
  model?: string;
  maxSteps?: number;
  worktree?: boolean;
  baseRef?: string;
  validate?: { command: string; timeoutMs: number };
}

/** A task the claim just started: attempt `n` is running. */
export interface ClaimedTask {
  id: string;
  workspaceId: string;
  title: string;
  spec: string;
  n: number;
  options: TaskOptions;
  /** When it became ready to run (created, or its retry backoff ended), epoch ms: the queue wait starts here. */
  readySince: number;
}

/** Why the claim started nothing, and when it could next succeed (epoch ms), if it knows. */
export type ClaimRefusal =
  | { reason: "max_running" }
  | { reason: "cooldown"; until: number }
  | { reason: "budget"; until: number }
  | { reason: "empty" };

/** Counts for metrics: tasks by status. */
export type StatusCounts = Record<TaskStatus, number>;

declare module "@dispatch/kernel" {
  interface DispatchEvents {
    /** A task was created, claimed, finished, retried, cancelled, updated (its result) or deleted; `task` is its new state (absent once deleted). */
    "task.changed": { id: string; change: TaskChange; task?: Task };
  }
}

/** What happened to a task. */
export type TaskChange =
  | "created"
  | "started"
  | "completed"
  | "failed"
  | "retrying"
  | "stuck"
  | "interrupted"
  | "cancelled"
  | "requeued"
  | "updated"
  | "deleted";
