export {
  type EntryKind,
  type ExecOptions,
  type ExecResult,
  type ExecutionBackend,
  type ExecutionBackends,
  executionBackendsRef,
} from "./backend.ts";
export { type ExecutionBackendContribution, executionBackendsPoint, LOCAL_HOST_ID } from "./backend-point.ts";
export { defaultToolsConfig, type ToolsConfig, toolsConfigSchema } from "./config.ts";
export { type ConfinedPath, confinePath } from "./confine-path.ts";
export { createExecutionBackends, executionBackendsFrom } from "./execution-backends.ts";
export { workspaceToolsExtension } from "./extension.ts";
export { createLocalBackend, resolveRealPath } from "./local-backend.ts";
export type { LocalExecTuning } from "./local-exec.ts";
export { type SweepReport, sweepLocks } from "./lock-maintenance.ts";
export { capText, OutputCollector, truncationNote } from "./output-cap.ts";
export { isSecretEnvName, scrubEnv } from "./scrub-env.ts";
export type { ToolDeps } from "./tool-kit.ts";
export { createWorkspaceTools, toolList, type WorkspaceTools } from "./workspace-tools.ts";
