import { posix } from "node:path";
import { DispatchError, type Logger, messageOf } from "@dispatch/kernel";
import type { GitCommit, Workspace } from "@dispatch/wire";
import type { ExecutionBackends } from "@dispatch/workspace-tools";
import type { GitConfig } from "./config.ts";
import { GitRunner, shellWord } from "./git-command.ts";
import type { KeyedMutex } from "./keyed-mutex.ts";
import type { WorktreeRow, WorktreeStore } from "./worktree-store.ts";

/** Where a workspace's repository is. */
export interface RepoInfo {
  /** The main worktree's top directory. */
  toplevel: string;
  /** The workspace root relative to it, with a trailing `/` (or empty at the top). */
  prefix: string;
}

/** What the git operations need. */
export interface WorktreesDeps {
  backends: ExecutionBackends;
  store: WorktreeStore;
  config: GitConfig;
  /** `<dataDir>/worktrees`, for local workspaces. */
  localDir: string;
  /** Serialises the commands that change a repository's shared state (worktree add, remove, prune). */
  mutex: KeyedMutex;
  logger: Logger;
}

/** Most commits listed in a result. */
const maxListedCommits = 200;

/** The git side of worktrees: make, reuse, commit, push, remove; local or over SSH alike. */
export class Worktrees {
  readonly #deps: WorktreesDeps;
  /** Each SSH host's worktree directory, resolved once. */
  readonly #remoteDirs = new Map<string, string>();

  constructor(deps: WorktreesDeps) {
    this.#deps = deps;
  }

  /** `<dataDir>/worktrees`: where local worktrees live. */
  get localDir(): string {
    return this.#deps.localDir;
  }

  /** Git on the workspace's machine. */
  git(workspace: Pick<Workspace, "hostId">): GitRunner {
    return new GitRunner(this.#deps.backends.forHost(workspace.hostId), this.#deps.config.timeoutMs);
  }

  /** The repository of a workspace; `not_a_git_repository` (with git's message) when its root is in none. */
  async repoOf(workspace: Workspace): Promise<RepoInfo> {
    let out: string;
    try {
      const root = await this.git(workspace).run(["rev-parse", "--show-toplevel", "--show-prefix"], {
        cwd: workspace.root,
      });
      out = root.stdout;
    } catch (error) {
      throw new DispatchError(
        "not_a_git_repository",
        `workspace "${workspace.id}" (root ${workspace.root}) cannot have worktrees: ${messageOf(error)}`,
        { details: { workspaceId: workspace.id }, cause: error },
      );
    }
    const [toplevel = "", prefix = ""] = out.split("\n");
    return { toplevel, prefix };
  }

  /**
   * Checks that `ref` names a commit in the workspace's repository; `invalid_request` with git's
   * message (field `baseRef`) when it does not, since no retry can fix that.
   */
  async checkBase(workspace: Workspace, ref: string): Promise<void> {
    try {
      await this.git(workspace).run(["rev-parse", "--verify", "--end-of-options", `${ref}^{commit}`], {
        cwd: workspace.root,
      });
    } catch (error) {
      const gitSaid = DispatchError.isInstance(error) ? error.details : undefined;
      throw new DispatchError(
        "invalid_request",
        `baseRef "${ref}" is not a commit of workspace "${workspace.id}": ${messageOf(error)}`,
        { details: { field: "baseRef", git: gitSaid }, cause: error },
      );
    }
  }

  /** Where the worktree `id` of a workspace lives: `<dataDir>/worktrees/<ws>/<id>`, or on its host. */
  async pathFor(workspace: Workspace, id: string): Promise<string> {
    if (workspace.hostId === null) return posix.join(this.#deps.localDir, workspace.id, id);
    let dir = this.#remoteDirs.get(workspace.hostId);
    if (dir === undefined) {
      dir = await this.#deps.backends
        .forHost(workspace.hostId)
        .realpath(this.#deps.config.remoteWorktreesDir);
      this.#remoteDirs.set(workspace.hostId, dir);
    }
    return posix.join(dir, workspace.id, id);
  }

  /** The directory a run's tools are confined to: the worktree, at the workspace root's place in it. */
  static runRoot(row: Pick<WorktreeRow, "path" | "prefix">): string {
    return row.prefix === "" ? row.path : posix.join(row.path, row.prefix).replace(/\/+$/, "");
  }

  /**
   * Makes sure the worktree is on disk: reused when it is there, else (never made, removed after
   * `retainMs`, or its directory vanished) made again from its branch, or made with a new branch
   * from `baseRef`. A directory in the way that is not the worktree is reported, not deleted.
   * Returns the row as it now is.
   */
  async ensure(row: WorktreeRow, workspace: Workspace): Promise<WorktreeRow> {
    const git = this.git(workspace);
    const repo = await this.repoOf(workspace);
    return this.#deps.mutex.run(repoKey(workspace, repo), async () => {
      if (await this.#isWorktreeAt(git, repo.toplevel, row.path)) {
        await this.#clearStaleIndexLock(git, row);
        if (row.state !== "active") await this.#deps.store.update(row.id, { state: "active" });
        return { ...row, state: "active" };
      }
      // a vanished directory leaves git's record of it behind; prune drops it so add can run
      await git.run(["worktree", "prune"], { cwd: repo.toplevel });
      const branch = `refs/heads/${row.branch}`;
      const existing = await git.run(["rev-parse", "--verify", "--quiet", branch], {
        cwd: repo.toplevel,
        allowExit: [1],
      });
      await git.backend.mkdirp(posix.dirname(row.path));
      if (existing.exitCode === 0) {
        await git.run(["worktree", "add", "--", row.path, row.branch], { cwd: repo.toplevel });
      } else {
        await git.run(["worktree", "add", "--no-track", "-b", row.branch, "--", row.path, row.baseRef], {
          cwd: repo.toplevel,
        });
      }
      const baseSha = row.baseSha ?? (await git.run(["rev-parse", "HEAD"], { cwd: row.path })).stdout.trim();
      const patch = {
        state: "active" as const,
        generation: row.generation + 1,
        baseSha,
        prefix: repo.prefix,
      };
      await this.#deps.store.update(row.id, patch);
      if (row.state === "active" && row.generation > 0) {
        this.#deps.logger.warn("a worktree's directory had vanished; made it again from its branch", {
          worktree: row.id,
          path: row.path,
        });
      }
      return { ...row, ...patch };
    });
  }

  /**
   * Commits everything changed in the worktree (new files too) as `git.author`; undefined when
   * nothing changed. Hooks are skipped (`--no-verify`): the task's `validate` is the check.
   */
  async commit(
    row: WorktreeRow,
    workspace: Workspace,
    message: { subject: string; body: string },
  ): Promise<GitCommit | undefined> {
    const git = this.git(workspace);
    const { author } = this.#deps.config;
    await git.run(["add", "-A"], { cwd: row.path });
    const staged = await git.run(["diff", "--cached", "--quiet"], { cwd: row.path, allowExit: [1] });
    if (staged.exitCode === 0) return undefined;
    await git.run(
      [
        "-c",
        `user.name=${author.name}`,
        "-c",
        `user.email=${author.email}`,
        "commit",
        "--no-verify",
        "-q",
        "-m",
        message.subject,
        "-m",
        message.body,
      ],
      { cwd: row.path },
    );
    const sha = (await git.run(["rev-parse", "HEAD"], { cwd: row.path })).stdout.trim();
    return { sha, subject: message.subject };
  }

  /** The commits on the run's branch since it started, oldest first (at most 200). */
  async commitsOf(row: WorktreeRow, workspace: Workspace): Promise<GitCommit[]> {
    if (row.baseSha === null) return [];
    const repo = await this.repoOf(workspace);
    const out = await this.git(workspace).run(
      [
        "log",
        `--max-count=${maxListedCommits}`,
        "--format=%H%x1f%s",
        `${row.baseSha}..refs/heads/${row.branch}`,
      ],
      { cwd: repo.toplevel },
    );
    return out.stdout
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => {
        const [sha = "", subject = ""] = line.split("\x1f");
        return { sha, subject };
      })
      .reverse();
  }

  /** True when `git status` shows nothing to commit (the worktree is what its branch holds). */
  async isClean(row: WorktreeRow, workspace: Workspace): Promise<boolean> {
    const out = await this.git(workspace).run(["status", "--porcelain", "--untracked-files=all"], {
      cwd: row.path,
    });
    return out.stdout.trim() === "";
  }

  /** Puts the worktree back to its last commit (after validation left build output behind). */
  async resetToHead(row: WorktreeRow, workspace: Workspace): Promise<void> {
    const git = this.git(workspace);
    await git.run(["reset", "--hard", "-q"], { cwd: row.path });
    await git.run(["clean", "-fdq"], { cwd: row.path });
  }

  /** Pushes the run's branch to `remote`; returns the commit pushed. Throws with git's message. */
  async push(row: WorktreeRow, workspace: Workspace, remote: string): Promise<string> {
    const git = this.git(workspace);
    const repo = await this.repoOf(workspace);
    const sha = await this.branchHead(row, workspace);
    const ref = `refs/heads/${row.branch}`;
    await git.run(["push", "--", remote, `${ref}:${ref}`], { cwd: repo.toplevel });
    return sha;
  }

  /** The commit the run's branch points at. */
  async branchHead(row: WorktreeRow, workspace: Workspace): Promise<string> {
    const repo = await this.repoOf(workspace);
    const out = await this.git(workspace).run(["rev-parse", "--verify", `refs/heads/${row.branch}`], {
      cwd: repo.toplevel,
    });
    return out.stdout.trim();
  }

  /** Removes the worktree's directory (`git worktree remove --force`; its branch stays). */
  async remove(row: WorktreeRow, workspace: Workspace): Promise<void> {
    const git = this.git(workspace);
    const repo = await this.repoOf(workspace);
    await this.#deps.mutex.run(repoKey(workspace, repo), async () => {
      if (await this.#isWorktreeAt(git, repo.toplevel, row.path)) {
        await git.run(["worktree", "remove", "--force", "--", row.path], { cwd: repo.toplevel });
      } else {
        await git.run(["worktree", "prune"], { cwd: repo.toplevel });
      }
    });
  }

  /** Drops git's records of worktrees whose directories are gone (start-up). */
  async prune(workspace: Workspace): Promise<void> {
    const repo = await this.repoOf(workspace);
    await this.#deps.mutex.run(repoKey(workspace, repo), async () => {
      await this.git(workspace).run(["worktree", "prune"], { cwd: repo.toplevel });
    });
  }

  /** True when `path` is the top of a worktree of the repository at `toplevel`. */
  async #isWorktreeAt(git: GitRunner, toplevel: string, path: string): Promise<boolean> {
    const out = await git.run(["-C", path, "rev-parse", "--show-toplevel", "--git-common-dir"], {
      cwd: toplevel,
      allowExit: [128],
    });
    if (out.exitCode !== 0) return false;
    const [top = "", common = ""] = out.stdout.split("\n");
    const mainCommon = (await git.run(["rev-parse", "--git-common-dir"], { cwd: toplevel })).stdout.trim();
    const [realTop, realPath, realCommon, realMain] = await Promise.all([
      git.backend.realpath(top),
      git.backend.realpath(path),
      git.backend.realpath(posix.resolve(path, common)),
      git.backend.realpath(posix.resolve(toplevel, mainCommon)),
    ]);
    return realTop === realPath && realCommon === realMain;
  }

  /**
   * A git killed mid-command (the host was SIGKILLed during a commit) leaves `index.lock` behind
   * and every later commit fails on it. Only called under the worktree's hold, when no git of
   * ours can be running in it, so the lock is stale.
   */
  async #clearStaleIndexLock(git: GitRunner, row: WorktreeRow): Promise<void> {
    const lock = (await git.run(["rev-parse", "--git-path", "index.lock"], { cwd: row.path })).stdout.trim();
    const absolute = posix.resolve(row.path, lock);
    const out = await git.backend.exec(
      `if [ -e ${shellWord(absolute)} ]; then rm -f -- ${shellWord(absolute)} && echo removed; fi`,
      { cwd: row.path, timeoutMs: 10_000, maxOutputBytes: 1024 },
    );
    if (out.stdout.includes("removed")) {
      this.#deps.logger.warn("removed a stale index.lock left by a git that did not finish", {
        worktree: row.id,
        lock: absolute,
      });
    }
  }
}

/** The mutex key of a repository: its host and main worktree. */
function repoKey(workspace: Pick<Workspace, "hostId">, repo: RepoInfo): string {
  return `${workspace.hostId ?? "local"}:${repo.toplevel}`;
}
