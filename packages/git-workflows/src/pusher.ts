import { DispatchError, type Logger, messageOf } from "@dispatch/kernel";
import type { Workspace } from "@dispatch/wire";
import type { GitConfig } from "./config.ts";
import type { WorktreeRow, WorktreeStore } from "./worktree-store.ts";
import type { Worktrees } from "./worktrees.ts";

/** What the pusher needs. */
export interface PusherDeps {
  store: WorktreeStore;
  worktrees: Worktrees;
  workspaceOf(id: string): Promise<Workspace | undefined>;
  config: GitConfig;
  clock: () => number;
  logger: Logger;
  /** Called after every change of a row's push state (the task's result mirrors it). Must not throw. */
  changed(row: WorktreeRow): Promise<void>;
  /** Metrics; must not throw. */
  observe?(outcome: "pushed" | "retry" | "failed"): void;
  /** Errors of pushes nobody awaits. */
  onFault(kind: string, error: unknown): void;
}

/**
 * Pushes run branches to `git.remote`, durably: the state (`pending | pushed | failed`, attempts,
 * next try) is on the worktree row, so a restart resumes pending pushes. A failure is retried after
 * `git.push.backoffMs` up to `git.push.attempts` times, then `failed` with git's message; a push is
 * never silently dropped. Driven by the extension's one timer (`tick`); one push per worktree at a
 * time, across hosts too (`claimPush`).
 */
export class Pusher {
  readonly #deps: PusherDeps;
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(deps: PusherDeps) {
    this.#deps = deps;
  }

  /** Pushes in progress (for health and leak checks). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** A new commit to publish: the push starts now with a fresh set of attempts. */
  async schedule(id: string): Promise<void> {
    if (this.#deps.config.remote === null) return;
    await this.#deps.store.update(id, {
      pushStatus: "pending",
      pushAttempts: 0,
      nextPushAt: this.#deps.clock(),
    });
    const row = await this.#deps.store.get(id);
    if (row !== undefined) await this.#deps.changed(row);
    this.#attempt(id).catch((error: unknown) => this.#deps.onFault("git push", error));
  }

  /**
   * The retry trigger of the API (`POST /worktrees/:id/push`): pushes now with a fresh set of
   * attempts and answers with the row after that first try.
   */
  async pushNow(id: string): Promise<WorktreeRow> {
    const remote = this.#deps.config.remote;
    if (remote === null) {
      throw new DispatchError("invalid_request", "no git.remote is configured, so nothing is pushed");
    }
    const row = await this.#deps.store.get(id);
    if (row === undefined) throw new DispatchError("not_found", `worktree "${id}" does not exist`);
    await this.#inFlight.get(id);
    await this.#deps.store.update(id, {
      pushStatus: "pending",
      pushAttempts: 0,
      nextPushAt: this.#deps.clock(),
    });
    await this.#attempt(id);
    return (await this.#deps.store.get(id)) as WorktreeRow;
  }

  /** Starts every due push not already running; resolves when they have ended. */
  async tick(): Promise<void> {
    if (this.#deps.config.remote === null) return;
    const due = await this.#deps.store.duePushes(this.#deps.clock());
    await Promise.all(due.filter((row) => !this.#inFlight.has(row.id)).map((row) => this.#attempt(row.id)));
  }

  /** Waits for the pushes in progress (shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  #attempt(id: string): Promise<void> {
    const running = this.#inFlight.get(id);
    if (running !== undefined) return running;
    const work = this.#push(id).finally(() => this.#inFlight.delete(id));
    this.#inFlight.set(id, work);
    return work;
  }

  async #push(id: string): Promise<void> {
    const { store, worktrees, config, clock, logger } = this.#deps;
    const remote = config.remote as string;
    const row = await store.get(id);
    if (row === undefined || row.pushStatus !== "pending") return;
    // Hosts sharing a Postgres database all see a due push: the one whose claim lands pushes, and
    // if it dies the push is due again once a push could no longer be running (git is killed at
    // git.timeoutMs, twice over for the push and the branch check).
    if (!(await store.claimPush(row, clock() + 2 * config.timeoutMs))) return;
    const attempts = row.pushAttempts + 1;
    try {
      const workspace = await this.#deps.workspaceOf(row.workspaceId);
      if (workspace === undefined) throw new Error(`workspace "${row.workspaceId}" no longer exists`);
      const sha = await worktrees.push(row, workspace, remote);
      // a commit made while the push ran is not on the remote yet: go round again
      const now = await worktrees.branchHead(row, workspace);
      await store.update(id, {
        pushStatus: now === sha ? "pushed" : "pending",
        pushError: null,
        pushAttempts: now === sha ? attempts : 0,
        nextPushAt: clock(),
        pushedSha: sha,
      });
      this.#deps.observe?.("pushed");
      logger.info("pushed a run's branch", { worktree: id, branch: row.branch, remote, sha });
    } catch (error) {
      const message = messageOf(error);
      const final = attempts >= config.push.attempts;
      const wait = config.push.backoffMs[Math.min(attempts, config.push.backoffMs.length) - 1] ?? 0;
      await store.update(id, {
        pushStatus: final ? "failed" : "pending",
        pushError: message,
        pushAttempts: attempts,
        nextPushAt: final ? null : clock() + wait,
      });
      this.#deps.observe?.(final ? "failed" : "retry");
      logger.warn(final ? "a push failed; giving up until it is retried" : "a push failed; retrying later", {
        worktree: id,
        branch: row.branch,
        remote,
        attempt: attempts,
        ...(final ? {} : { retryInMs: wait }),
        err: message,
      });
    }
    const after = await store.get(id);
    if (after !== undefined) await this.#deps.changed(after);
  }
}
