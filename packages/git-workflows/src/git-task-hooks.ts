import { messageOf } from "@dispatch/kernel";
import type { AttemptVerdict, TaskHooks } from "@dispatch/tasks";
import type { ValidationResult } from "@dispatch/wire";
import { branchOf } from "./git-scope.ts";
import type { GitRuntime } from "./runtime.ts";
import { runValidation } from "./validation.ts";
import { heldError, type WorktreeRow } from "./worktree-store.ts";
import { Worktrees } from "./worktrees.ts";

/**
 * The task side (DESIGN §13): an attempt of a task with `worktree: true` runs in the task's own
 * worktree (the same one for every attempt, so a retry builds on what the last one did), holding
 * it from before its turn until it is filed; after the turn `validate` runs there and a failure
 * fails the attempt (retried); a completed attempt's branch is pushed. `result` gets `branch`,
 * `commits`, `pushStatus` and `validation`.
 */
export function createGitTaskHooks(runtime: () => GitRuntime): TaskHooks {
  return {
    id: "git-workflows",
    async beforeTurn({ task, n, conversationId }): Promise<AttemptVerdict | undefined> {
      if (task.options.worktree !== true) return undefined;
      const rt = runtime();
      const workspace = await rt.workspaceOf(task.workspaceId);
      if (workspace === undefined) {
        return final("not_found", `workspace "${task.workspaceId}" no longer exists`);
      }
      let path: string;
      try {
        await rt.worktrees.repoOf(workspace);
        path = await rt.worktrees.pathFor(workspace, task.id);
      } catch (error) {
        return final("not_a_git_repository", messageOf(error));
      }
      if (task.options.baseRef !== undefined) {
        try {
          await rt.worktrees.checkBase(workspace, task.options.baseRef);
        } catch (error) {
          return final("invalid_request", messageOf(error));
        }
      }
      await rt.store.insert({
        id: task.id,
        workspaceId: task.workspaceId,
        kind: "task",
        title: task.title,
        path,
        branch: branchOf(task.id),
        baseRef: task.options.baseRef ?? "HEAD",
        prefix: "",
      });
      const taken = await rt.store.acquire(task.id, {
        kind: "task",
        id: task.id,
        attempt: n,
        conversationId,
        admitsTurn: true,
      });
      // held by someone else's turn: worth another attempt once it is over
      if (!taken.ok) return retry("conflict", heldError(taken.row).message);
      let row: WorktreeRow;
      try {
        row = await rt.worktrees.ensure((await rt.store.get(task.id)) as WorktreeRow, workspace);
      } catch (error) {
        await rt.store.release(task.id, taken.token);
        return retry("git_failed", messageOf(error));
      }
      await rt.store.bind(conversationId, task.id, n);
      return { result: { branch: row.branch, worktree: row.path } };
    },

    async afterTurn({ task, signal }): Promise<AttemptVerdict | undefined> {
      const { worktree, validate } = task.options;
      if (worktree !== true && validate === undefined) return undefined;
      const rt = runtime();
      const workspace = await rt.workspaceOf(task.workspaceId);
      if (workspace === undefined)
        return final("not_found", `workspace "${task.workspaceId}" no longer exists`);
      const row = worktree === true ? await rt.store.get(task.id) : undefined;
      let validation: ValidationResult | null = null;
      if (validate !== undefined) {
        // the turn's work is committed by now, so anything validation leaves behind is its own output
        const clean =
          row === undefined ? false : await rt.worktrees.isClean(row, workspace).catch(() => false);
        validation = await runValidation({
          backend: rt.worktrees.git(workspace).backend,
          root: row === undefined ? workspace.root : Worktrees.runRoot(row),
          command: validate.command,
          timeoutMs: validate.timeoutMs,
          signal,
        });
        rt.observe.validation(validation.status);
        if (row !== undefined && clean) {
          await rt.worktrees.resetToHead(row, workspace).catch((error: unknown) => {
            rt.logger.warn("could not reset the worktree after validation", { worktree: row.id, err: error });
          });
        }
      }
      const failed = validation !== null && validation.status !== "passed";
      const result: Record<string, unknown> = { validation };
      if (row !== undefined) {
        const commits = await rt.worktrees.commitsOf(row, workspace);
        await rt.store.update(row.id, { commits: JSON.stringify(commits) });
        const willPush = !failed && rt.config.remote !== null && commits.length > 0;
        Object.assign(result, {
          branch: row.branch,
          worktree: row.path,
          commits,
          pushStatus: willPush ? "pending" : row.pushStatus,
          pushError: willPush ? null : row.pushError,
        });
      }
      if (validation !== null && failed) {
        const last = lastLine(validation.output);
        const how = validation.status === "failed" ? `exit ${validation.exitCode}` : validation.status;
        return {
          failure: {
            code: "validation_failed",
            message: `validation failed (${how}): ${last === "" ? "no output" : last}`,
            retryable: true,
          },
          result,
        };
      }
      return { result };
    },

    async attemptEnded({ task, n, outcome }) {
      if (task.options.worktree !== true) return;
      const rt = runtime();
      await rt.store.releaseAttempt(task.id, n);
      if (outcome !== "completed" || rt.config.remote === null) return;
      const row = await rt.store.get(task.id);
      if (row !== undefined && row.commits !== "[]") await rt.pusher.schedule(task.id);
    },
  };
}

function final(code: string, message: string): AttemptVerdict {
  return { failure: { code, message, retryable: false } };
}

function retry(code: string, message: string): AttemptVerdict {
  return { failure: { code, message, retryable: true } };
}

function lastLine(output: string): string {
  const lines = output.split("\n").map((line) => line.trim());
  const last = lines.reverse().find((line) => line !== "") ?? "";
  return last.length <= 300 ? last : `${last.slice(0, 299)}…`;
}
