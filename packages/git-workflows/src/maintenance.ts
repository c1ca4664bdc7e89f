import { rm } from "node:fs/promises";
import { join } from "node:path";
import { messageOf } from "@dispatch/kernel";
import type { GitRuntime } from "./runtime.ts";
import type { WorktreeRow } from "./worktree-store.ts";

/**
 * Clean-up of worktrees (DESIGN §13): removed when their task is deleted or after `git.retainMs`
 * unused (branch kept, so a later run makes it again), pruned at start-up, and forgotten with their
 * workspace. Failures are logged and tried again at the next tick, never thrown at the host.
 */
export class Maintenance {
  readonly #runtime: () => GitRuntime;
  #sweeping = false;

  constructor(runtime: () => GitRuntime) {
    this.#runtime = runtime;
  }

  /** Start-up: frees the holds of the previous process's runs. Returns how many. */
  async recover(): Promise<number> {
    return this.#runtime().store.clearHolds();
  }

  /** Start-up, in the background: `git worktree prune` in every repository that has worktrees. */
  async pruneAll(): Promise<void> {
    const rt = this.#runtime();
    const workspaceIds = new Set((await rt.store.list()).map((row) => row.workspaceId));
    for (const id of workspaceIds) {
      const workspace = await rt.workspaceOf(id);
      if (workspace === undefined) continue;
      await rt.worktrees.prune(workspace).catch((error: unknown) => {
        rt.logger.warn("git worktree prune failed", { workspace: id, err: messageOf(error) });
      });
    }
  }

  /** A task was deleted: its worktree goes now, or once the run holding it ends. */
  async taskDeleted(taskId: string): Promise<void> {
    const rt = this.#runtime();
    const row = await rt.store.get(taskId);
    if (row === undefined) return;
    await rt.store.update(taskId, { removeRequested: true });
    await this.#removeIfFree({ ...row, removeRequested: true });
  }

  /**
   * A workspace was deleted: its worktrees' records go, and the local directories with them. On a
   * cluster every host hears it and another may delete the rows first, so each host also removes
   * the workspace's directory under its own data dir (a workspace id is a slug: one path segment).
   */
  async workspaceDeleted(workspaceId: string): Promise<void> {
    const rt = this.#runtime();
    for (const row of await rt.store.ofWorkspace(workspaceId)) {
      await rt.store.delete(row.id);
      // the repository may be gone with the workspace; the directory under our data dir is ours
      if (row.path.startsWith(rt.worktrees.localDir)) await rm(row.path, { recursive: true, force: true });
    }
    await rm(join(rt.worktrees.localDir, workspaceId), { recursive: true, force: true });
  }

  /** The timer's part: remove worktrees past `retainMs` and those of deleted tasks. */
  async sweep(): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      const rt = this.#runtime();
      for (const row of await rt.store.removable(rt.clock() - rt.config.retainMs))
        await this.#removeIfFree(row);
    } finally {
      this.#sweeping = false;
    }
  }

  /** Takes the hold (so no run starts in it meanwhile), removes the directory, releases. */
  async #removeIfFree(row: WorktreeRow): Promise<void> {
    const rt = this.#runtime();
    const taken = await rt.store.acquire(row.id, {
      kind: "cleanup",
      id: row.id,
      attempt: null,
      conversationId: null,
      admitsTurn: false,
    });
    if (!taken.ok) return;
    try {
      const workspace = await rt.workspaceOf(row.workspaceId);
      if (workspace !== undefined && row.state === "active") await rt.worktrees.remove(row, workspace);
      if (row.removeRequested || workspace === undefined) {
        await rt.store.delete(row.id);
        rt.logger.info("removed the worktree of a deleted task (its branch stays)", { worktree: row.id });
        return;
      }
      await rt.store.update(row.id, { state: "removed" });
      rt.logger.info("removed a worktree unused for git.retainMs (its branch stays)", {
        worktree: row.id,
        path: row.path,
      });
    } catch (error) {
      if (row.removeRequested) {
        // its task is gone: keeping the record would retry this every tick
        await rt.store.delete(row.id);
        rt.logger.warn("could not remove the worktree of a deleted task; its directory is left", {
          worktree: row.id,
          path: row.path,
          err: messageOf(error),
        });
      } else {
        await rt.store.update(row.id, { lastUsedAt: rt.clock() });
        rt.logger.warn("removing a worktree failed; trying again after git.retainMs", {
          worktree: row.id,
          err: messageOf(error),
        });
      }
    } finally {
      await rt.store.release(row.id, taken.token);
    }
  }
}
