export { summariserInstruction, summariserSystem } from "./compaction.ts";
export { type OrchestratorConfig, orchestratorConfigSchema } from "./config.ts";
export { sessionOrchestratorExtension } from "./extension.ts";
export {
  type CallUsage,
  type ModelCall,
  type ModelCallGate,
  type ModelCallOutcome,
  type ModelCallPass,
  type ModelCallRefusal,
  modelCallGatesPoint,
} from "./model-call-gate.ts";
export { createModelRunner, type ModelRunnerConfig, modelRunnerId } from "./model-runner.ts";
export {
  type RunScope,
  runScopesPoint,
  type ScopedTurn,
  type ScopeOptionName,
  type ScopeOptions,
  type ScopeTurnEnd,
  type ScopeTurnRequest,
} from "./run-scope.ts";
export { buildSystemPrompt, readAgentsFile } from "./system-prompt.ts";
export {
  type GatedCall,
  type GateVerdict,
  type ToolGate,
  type ToolGateContext,
  toolGatesPoint,
} from "./tool-gate.ts";
export { MapToolRegistry } from "./tool-registry.ts";
export { type OrchestratorDeps, TurnOrchestrator } from "./turn-orchestrator.ts";
export {
  type ConversationInfo,
  parseRunnerName,
  type RunnerEvent,
  type RunnerOutcome,
  type RunnerTools,
  type TurnRunner,
  type TurnRunnerContext,
  toolsPoint,
  turnRunnersPoint,
} from "./turn-runner.ts";
export {
  type CreateConversationInput,
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
