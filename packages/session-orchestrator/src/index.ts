export { type OrchestratorConfig, orchestratorConfigSchema } from "./config.ts";
export { sessionOrchestratorExtension } from "./extension.ts";
export { buildSystemPrompt, readAgentsFile } from "./system-prompt.ts";
export { MapToolRegistry } from "./tool-registry.ts";
export { type OrchestratorDeps, TurnOrchestrator } from "./turn-orchestrator.ts";
export {
  type EventSubscription,
  type MemorySample,
  type Orchestrator,
  orchestratorRef,
  type ToolContext,
  type ToolDefinition,
  type ToolRegistry,
  type ToolResult,
  type TurnAdmission,
} from "./types.ts";
