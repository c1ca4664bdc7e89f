export {
  type ConfinedPath,
  type EntryKind,
  type ExecOptions,
  type ExecResult,
  type ExecutionBackend,
  type ExecutionBackends,
  executionBackendsRef,
  type FileAccess,
  type FileId,
} from "./backend.ts";
export { type ExecutionBackendContribution, executionBackendsPoint, LOCAL_HOST_ID } from "./backend-point.ts";
export {
  defaultToolsConfig,
  type SandboxLimits,
  sandboxLimitsSchema,
  type ToolsConfig,
  toolsConfigSchema,
} from "./config.ts";
export { childPath, confinePath } from "./confine-path.ts";
export { createExecutionBackends, executionBackendsFrom } from "./execution-backends.ts";
export type {
  ExecutionSession,
  KillSignal,
  OutputChunk,
  OutputStream,
  SessionExit,
  SessionInput,
  SpawnOptions,
} from "./execution-session.ts";
export { workspaceToolsExtension } from "./extension.ts";
export { createLocalBackend, type LocalBackendOptions, resolveRealPath } from "./local-backend.ts";
export type { LocalExecTuning } from "./local-exec.ts";
export { type SweepReport, sweepLocks } from "./lock-maintenance.ts";
export { capText, OutputCollector, truncationNote } from "./output-cap.ts";
export { RootPins } from "./root-pins.ts";
export { PRELUDE_FAILED_EXIT, type SandboxCall, sandboxLauncher } from "./sandbox/bwrap-launcher.ts";
export type { LimitMechanism, LimitPlan, SandboxFacts, SandboxProbe } from "./sandbox/sandbox-facts.ts";
export { limitPlan, type ProbeOptions, probeSandbox } from "./sandbox/sandbox-probe.ts";
export {
  type SandboxedCall,
  Sandboxes,
  type SandboxSettings,
  type ToolSandbox,
  unconfinedSandbox,
} from "./sandbox/sandboxes.ts";
export { isSecretEnvName, scrubEnv } from "./scrub-env.ts";
export { StreamInput } from "./session-input.ts";
export { createExecutionSession, type SessionParts, spawnCancelledError } from "./session-lifecycle.ts";
export { DEFAULT_MAX_BUFFERED_BYTES, type OutputFlow, SessionOutput } from "./session-output.ts";
export type { ToolDeps } from "./tool-kit.ts";
export {
  endLeftoverToolProcesses,
  type LeftoverReport,
  ToolProcessRecords,
  toolProcessesDir,
} from "./tool-process-records.ts";
export { TurnFiles } from "./turn-files.ts";
export { createWorkspaceTools, toolList, type WorkspaceTools } from "./workspace-tools.ts";
