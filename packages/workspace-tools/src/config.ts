import { timerDelayMs } from "@dispatch/kernel";
import { PermissionRules } from "@dispatch/wire";
import { z } from "zod";

const MiB = 1024 * 1024;

/** Per-call limits of a sandboxed `bash` (`tools.limits`); null switches one off. */
export const sandboxLimitsSchema = z
  .object({
    /**
     * Memory of the call: the cgroup's `memory.max` where a cgroup v2 with the memory controller is
     * writable, otherwise each process's address space (RLIMIT_AS).
     */
    memoryBytes: z
      .number()
      .int()
      .min(16 * MiB)
      .nullable()
      .default(8192 * MiB),
    /**
     * Processes of the call at once: `pids.max` of its cgroup, or the `pid_max` of its own PID
     * namespace (Linux 6.14 or later; at least 300 there, the kernel's floor), or RLIMIT_NPROC for a
     * host that does not run as root.
     */
    pids: z.number().int().min(8).nullable().default(1024),
    /** CPU seconds each process of the call may use (RLIMIT_CPU): SIGXCPU, then SIGKILL a second later. */
    cpuSeconds: z.number().int().min(1).nullable().default(600),
    /**
     * A cgroup v2 directory the host may create a child cgroup in per call (with `memory` and `pids`
     * in its `cgroup.subtree_control`); null: the host's own cgroup, when it is set up that way.
     */
    cgroup: z.string().min(1).nullable().default(null),
  })
  .strict()
  .prefault({});

/** Per-call limits as parsed. */
export type SandboxLimits = z.output<typeof sandboxLimitsSchema>;

/** The `tools` config slice. */
export const toolsConfigSchema = z
  .object({
    /** Hard cap on every tool result (and on each of a command's stdout and stderr). */
    maxOutputBytes: z.number().int().min(1024).default(262144),
    /** Longest a `bash` call may run; a call may ask for less. */
    bashTimeoutMs: timerDelayMs(100).default(120000),
    /** How long a file lock lives without being refreshed (a safety net; turns release their locks). */
    lockTtlMs: z
      .number()
      .int()
      .min(1000)
      .default(30 * 60 * 1000),
    /** How often expired locks and locks of finished turns are swept. */
    lockSweepMs: timerDelayMs(100).default(60000),
    /** Files `grep` reads at most per call. */
    grepMaxFiles: z.number().int().min(1).default(5000),
    /** Matching lines `grep` returns at most per call. */
    grepMaxMatches: z.number().int().min(1).default(500),
    /** Time `grep` may spend matching per call (in a worker); past it the call is a tool error. */
    grepTimeoutMs: z.number().int().min(50).default(10000),
    /**
     * More variable names kept out of tool processes, on top of the built-in patterns. The binary adds
     * every variable its config names as holding a secret (providers' `apiKeyEnv`, `DISPATCH_TOKEN`).
     */
    secretEnvNames: z.array(z.string().min(1)).default([]),
    /**
     * Whether `bash` runs in bubblewrap: `auto` when the start-up probe passes (else unconfined, with
     * the reason in /health), `required` (no sandbox: every bash call is refused), or `none`.
     */
    sandbox: z.enum(["auto", "required", "none"]).default("auto"),
    /** The bubblewrap binary: a name looked up on PATH, or an absolute path. */
    sandboxBinary: z.string().min(1).default("bwrap"),
    /** Whether sandboxed `bash` may use the network; a workspace's own `network` overrides it. */
    network: z.boolean().default(false),
    limits: sandboxLimitsSchema,
    /**
     * Paths the sandbox hides (an empty directory or file in their place), `~/` meaning the home
     * directory on the host that runs the command. The binary adds its config file and the hosts'
     * key files; the host's data directory is always hidden too (the workspace root stays visible).
     */
    hiddenPaths: z.array(z.string().min(1)).default(["~/.ssh", "~/.gnupg", "~/.aws", "~/.netrc"]),
    /** Host-wide permission rules (tool name or `tool:glob` → allow, ask or deny); workspaces add their own. */
    permissions: PermissionRules.default({}),
    /** How long an `ask` waits for an answer before it counts as a deny. */
    approvalTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(10 * 60 * 1000),
  })
  .strict()
  .prefault({});

/** Parsed `tools` config. */
export type ToolsConfig = z.output<typeof toolsConfigSchema>;

/** The defaults, for tests and callers that build tools without the extension. */
export const defaultToolsConfig: ToolsConfig = toolsConfigSchema.parse(undefined);
