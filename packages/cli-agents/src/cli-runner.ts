import type { TurnRunner } from "@dispatch/session-orchestrator";
import { runCliTurn } from "./cli-turn.ts";
import type { CliAgentsSettings } from "./config.ts";
import type { AgentSupervisor } from "./supervisor.ts";

/** The runner id: conversations name `cli:<agent id>`. */
export const cliRunnerId = "cli";

/**
 * The `cli` turn runner. It is contributed in the register phase (from the config alone); the
 * supervisor it runs turns with comes at activation, through `supervisor()`.
 */
export function createCliRunner(
  settings: CliAgentsSettings,
  supervisor: () => AgentSupervisor | { unavailable: string },
): TurnRunner {
  const agents = new Map(settings.agents.map((agent) => [agent.id, agent]));
  const configured = () =>
    agents.size === 0 ? "none; add them under cliAgents" : [...agents.keys()].join(", ");
  return {
    id: cliRunnerId,
    description: "an external CLI agent driven in tmux: cli:<agent id>",
    validate(argument) {
      if (argument === undefined || argument === "")
        return `name the agent as cli:<id> (configured: ${configured()})`;
      if (!agents.has(argument))
        return `no CLI agent "${argument}" is configured (configured: ${configured()})`;
      return undefined;
    },
    async run(ctx) {
      const argument = ctx.conversation.runner.slice(cliRunnerId.length + 1);
      const agent = agents.get(argument);
      if (agent === undefined) {
        return {
          status: "failed",
          code: "runner_unavailable",
          error: `no CLI agent "${argument}" is configured any more (configured: ${configured()})`,
        };
      }
      const found = supervisor();
      if ("unavailable" in found)
        return { status: "failed", code: "tmux_unavailable", error: found.unavailable };
      return runCliTurn(ctx, found, agent);
    },
  };
}
