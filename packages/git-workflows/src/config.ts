import { z } from "zod";

const day = 86_400_000;
const ms = (max: number) => z.number().int().min(0).max(max);

/** The `git` config slice (DESIGN §13). */
export const gitConfigSchema = z
  .object({
    /** Author and committer of every commit a run makes. */
    author: z
      .object({
        name: z.string().min(1).max(200).default("Dispatch"),
        email: z.string().min(3).max(320).default("dispatch@localhost"),
      })
      .strict()
      .default({ name: "Dispatch", email: "dispatch@localhost" }),
    /** A remote of each workspace's repository that run branches are pushed to; null: no push. */
    remote: z
      .string()
      .min(1)
      .max(200)
      .regex(/^(?!-)[^\s]+$/, "must be a remote name (no spaces, not starting with -)")
      .nullable()
      .default(null),
    /** A worktree unused this long (and not held) is removed; its branch stays. */
    retainMs: ms(365 * day).default(7 * day),
    /** Each git command is killed after this long. */
    timeoutMs: z.number().int().min(100).max(3_600_000).default(120_000),
    push: z
      .object({
        /** Pushes of one commit before `pushStatus` is `failed` (a retry via the API starts afresh). */
        attempts: z.number().int().min(1).max(100).default(4),
        /** Wait before the 1st, 2nd, … retry; the last entry repeats. */
        backoffMs: z.array(ms(day)).min(1).default([5_000, 30_000, 300_000]),
      })
      .strict()
      .default({ attempts: 4, backoffMs: [5_000, 30_000, 300_000] }),
    /**
     * Where worktrees of remote workspaces go on their host (`<dir>/<workspaceId>/<id>`); relative
     * to the SSH user's home directory unless absolute. Local ones go under `<dataDir>/worktrees`.
     */
    remoteWorktreesDir: z.string().min(1).max(4096).default(".dispatch/worktrees"),
    /** The one timer: due pushes and worktrees past `retainMs`. */
    tickMs: z.number().int().min(10).max(600_000).default(1000),
  })
  .strict()
  .default({
    author: { name: "Dispatch", email: "dispatch@localhost" },
    remote: null,
    retainMs: 7 * day,
    timeoutMs: 120_000,
    push: { attempts: 4, backoffMs: [5_000, 30_000, 300_000] },
    remoteWorktreesDir: ".dispatch/worktrees",
    tickMs: 1000,
  });

/** The parsed `git` slice. */
export type GitConfig = z.output<typeof gitConfigSchema>;
