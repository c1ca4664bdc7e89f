import { timerDelayMs } from "@dispatch/kernel";
import { z } from "zod";

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
  })
  .strict()
  .prefault({});

/** Parsed `tools` config. */
export type ToolsConfig = z.output<typeof toolsConfigSchema>;

/** The defaults, for tests and callers that build tools without the extension. */
export const defaultToolsConfig: ToolsConfig = toolsConfigSchema.parse(undefined);
