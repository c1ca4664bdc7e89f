import { z } from "zod";

const IsoTime = z.string().describe("ISO-8601 time");

/**
 * A git revision a worktree branch may start from: a branch, tag or commit name. Never starts with
 * `-` (it would read as an option) and holds no whitespace, `..` or the characters git refuses in refs.
 */
export const GitRef = z
  .string()
  .min(1)
  .max(200)
  .regex(/^(?!-)(?!.*\.\.)[A-Za-z0-9._/@^~+-]+$/, "must be a branch, tag or commit name");

/** Where a run's branch stands against `git.remote`: kept apart from the task's own status. */
export const PushStatus = z.enum(["pending", "pushed", "failed"]);
export type PushStatus = z.infer<typeof PushStatus>;

/** One commit a run made on its branch. */
export const GitCommit = z.object({ sha: z.string(), subject: z.string() });
export type GitCommit = z.infer<typeof GitCommit>;

/** The outcome of a task's `validate` command (DESIGN §13). */
export const ValidationResult = z.object({
  /** `passed` (exit 0), `failed` (another exit), `timeout` (killed at `timeoutMs`), `error` (could not run). */
  status: z.enum(["passed", "failed", "timeout", "error"]),
  exitCode: z.number().int().nullable(),
  /** The last 4 KiB of stdout and stderr, interleaved as written. */
  output: z.string(),
  durationMs: z.number().int(),
});
export type ValidationResult = z.infer<typeof ValidationResult>;

/** Who is running in a worktree right now. */
export const WorktreeHolder = z.object({
  /**
   * `task`: an attempt of the task (its turn, validation and commit); `conversation`: one turn;
   * `cleanup`: the host removing the worktree after `git.retainMs` or its task's deletion.
   */
  kind: z.enum(["task", "conversation", "cleanup"]),
  /** The task or conversation id. */
  id: z.string(),
  /** The attempt number, for a task. */
  attempt: z.number().int().nullable(),
  conversationId: z.string().nullable(),
  since: IsoTime,
});
export type WorktreeHolder = z.infer<typeof WorktreeHolder>;

/** A git worktree of a task or conversation (`GET /worktrees/:id`). */
export const Worktree = z.object({
  /** The task or conversation id it belongs to; also the last part of its path and branch. */
  id: z.string(),
  workspaceId: z.string(),
  kind: z.enum(["task", "conversation"]),
  /** Absolute, on the workspace's machine. */
  path: z.string(),
  branch: z.string(),
  baseRef: z.string(),
  /** The commit the branch started from; null until the worktree was first made. */
  baseSha: z.string().nullable(),
  /**
   * `new`: made at its first run; `active`: on disk (a vanished directory is made again at the next
   * run); `removed`: taken away after `git.retainMs`, branch kept, made again at the next run.
   */
  state: z.enum(["new", "active", "removed"]),
  holder: WorktreeHolder.nullable(),
  commits: z.array(GitCommit),
  /** Null while nothing was pushed or when no `git.remote` is configured. */
  pushStatus: PushStatus.nullable(),
  /** Git's own message of the last failed push. */
  pushError: z.string().nullable(),
  pushAttempts: z.number().int(),
  nextPushAt: IsoTime.nullable(),
  pushedSha: z.string().nullable(),
  lastUsedAt: IsoTime,
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type Worktree = z.infer<typeof Worktree>;

/** `GET /worktrees` answer. */
export const WorktreeList = z.object({ worktrees: z.array(Worktree) });
export type WorktreeList = z.infer<typeof WorktreeList>;
