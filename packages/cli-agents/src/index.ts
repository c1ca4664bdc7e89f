export { cliAgentMetricNames } from "./agent-metrics.ts";
export { type AgentSession, type SessionHealth, type SessionState, sessionName } from "./agent-session.ts";
export { cliRunnerId, createCliRunner } from "./cli-runner.ts";
export { crashedCode } from "./cli-turn.ts";
export { type AgentConfig, type CliAgentsSettings, cliAgentsConfigSchema } from "./config.ts";
export { agentEnvironment, cliAgentsExtension, remoteSocketName, socketPathOf } from "./extension.ts";
export { agentInputOperations, agentListOperations } from "./routes.ts";
export { type CliAgentsService, cliAgentsRef } from "./service.ts";
export { type AgentInfo, type AgentInput, AgentSupervisor } from "./supervisor.ts";
export { TmuxClient } from "./tmux-client.ts";
export {
  localTmux,
  type RemoteBackend,
  remoteTmux,
  type TmuxResult,
  type TmuxTransport,
} from "./tmux-transport.ts";
