import { z } from "zod";

const slug = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ms = (min: number) => z.number().int().min(min);

/** One external agent (DESIGN §14): how to start it, how to tell it crashed, when its turn is done. */
export const agentConfigSchema = z
  .object({
    /** What a conversation names after `cli:` (`runner: "cli:claude"`). */
    id: z.string().regex(slug, "must be a slug: lowercase letters, digits and '-', at most 63"),
    /** The program and its arguments, run directly (no shell) in the workspace root. */
    command: z.array(z.string().min(1)).min(1),
    /** A provider whose slot a turn holds while the agent works (starred-first sharing); none when absent. */
    provider: z.string().min(1).optional(),
    /** Text that, when it appears in new screen lines, means the agent crashed (plain substrings). */
    crashPatterns: z.array(z.string().min(1)).default([]),
    /** The turn completes once the screen has not changed for this long after new output. */
    idleMs: ms(1).default(3000),
    respawn: z
      .object({
        /** Respawns within one turn; one more crash fails the turn. */
        maxAttempts: ms(0).default(3),
        /** Wait before respawn n (the last value repeats). */
        backoffMs: z.array(ms(0)).min(1).default([1000, 5000, 30000]),
      })
      .strict()
      .prefault({}),
    /** Extra environment for the agent (its API keys, for example). */
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment name"), z.string())
      .default({}),
    /** Terminal size of the agent's pane. */
    cols: z.number().int().min(20).max(1000).default(160),
    rows: z.number().int().min(5).max(500).default(48),
    /** Keys sent after a message is pasted, to submit it (tmux key names). */
    submitKeys: z.array(z.string().min(1)).default(["Enter"]),
  })
  .strict();

/** The settings form of `cliAgents`: the agents plus the host-wide ticks. */
const settingsSchema = z
  .object({
    agents: z.array(agentConfigSchema).default([]),
    /** The one capture tick for all sessions. */
    captureIntervalMs: ms(10).default(1000),
    /** The one health tick for all sessions (crash patterns, dead panes, respawn backoff, cancel grace). */
    healthIntervalMs: ms(10).default(1000),
    /** After cancel, how long the agent gets after `C-c` before its session is killed. */
    cancelGraceMs: ms(0).default(2000),
    /** The tmux program. */
    tmux: z.string().min(1).default("tmux"),
    /** The tmux socket; default `<dataDir>/tmux/dispatch.sock` (never the user's own server). */
    socketPath: z.string().min(1).nullable().default(null),
  })
  .strict();

/**
 * The `cliAgents` slice: either the list of agents (DESIGN §14's form) or `{agents, …settings}`.
 * Dispatched on the value's shape rather than a zod union, so an error names the path inside the
 * form the user wrote (`cliAgents[0].idleMs`), not "invalid input".
 */
export const cliAgentsConfigSchema = z.unknown().transform((value, ctx) => {
  const form = Array.isArray(value) ? z.array(agentConfigSchema) : settingsSchema;
  const parsed = form.safeParse(value ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.issues.push({ ...issue, input: undefined });
    return z.NEVER;
  }
  const settings = Array.isArray(parsed.data) ? settingsSchema.parse({ agents: parsed.data }) : parsed.data;
  const seen = new Set<string>();
  for (const [i, agent] of settings.agents.entries()) {
    if (seen.has(agent.id)) {
      ctx.issues.push({
        code: "custom",
        path: Array.isArray(value) ? [i, "id"] : ["agents", i, "id"],
        message: `agent id "${agent.id}" is used twice`,
        input: agent.id,
      });
    }
    seen.add(agent.id);
  }
  return settings as CliAgentsSettings;
});

/** One configured agent, parsed. */
export type AgentConfig = z.output<typeof agentConfigSchema>;

/** The parsed `cliAgents` slice. */
export type CliAgentsSettings = z.output<typeof settingsSchema>;

/** The backoff before respawn `attempt` (1-based); the last configured value repeats. */
export function backoffFor(agent: AgentConfig, attempt: number): number {
  const list = agent.respawn.backoffMs;
  return list[Math.min(attempt, list.length) - 1] ?? 0;
}
