import type { Logger } from "@dispatch/kernel";
import type { ValidationResult, Workspace } from "@dispatch/wire";
import type { GitConfig } from "./config.ts";
import type { Pusher } from "./pusher.ts";
import type { WorktreeStore } from "./worktree-store.ts";
import type { Worktrees } from "./worktrees.ts";

/** Counters the extension keeps for `/metrics`; each must not throw. */
export interface GitObserver {
  commit(): void;
  validation(status: ValidationResult["status"]): void;
}

/** The running parts of one host's git workflows, shared by the scope, the task hooks and the routes. */
export interface GitRuntime {
  store: WorktreeStore;
  worktrees: Worktrees;
  pusher: Pusher;
  config: GitConfig;
  workspaceOf(id: string): Promise<Workspace | undefined>;
  logger: Logger;
  clock: () => number;
  observe: GitObserver;
}

/** The subject line and body of a run's commit: the task title (or conversation) and the turn. */
export function commitMessage(input: {
  title: string | null;
  text: string;
  turnId: string;
  conversationId: string;
  task?: { id: string; attempt: number };
}): { subject: string; body: string } {
  const request = firstLine(input.text);
  const subject = clip(input.title ?? request, 100) || "Dispatch run";
  const trailers = [
    ...(input.task === undefined
      ? []
      : [`Dispatch-Task: ${input.task.id}`, `Dispatch-Attempt: ${input.task.attempt}`]),
    `Dispatch-Conversation: ${input.conversationId}`,
    `Dispatch-Turn: ${input.turnId}`,
  ];
  const lead =
    input.task === undefined ? request : `Attempt ${input.task.attempt} of task ${input.task.id}: ${request}`;
  return { subject, body: `${clip(lead, 500)}\n\n${trailers.join("\n")}` };
}

/** The first non-empty line of `text`, trimmed. */
export function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .map((line) => line.trim())
      .find((line) => line !== "") ?? ""
  );
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
