export {
  type EntryKind,
  type ExecOptions,
  type ExecResult,
  type ExecutionBackend,
  type ExecutionBackends,
  executionBackendsRef,
} from "./backend.ts";
export { defaultToolsConfig, type ToolsConfig, toolsConfigSchema } from "./config.ts";
export { type ConfinedPath, confinePath } from "./confine-path.ts";
export { createExecutionBackends } from "./execution-backends.ts";
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
export { createLocalBackend, resolveRealPath } from "./local-backend.ts";
export type { LocalExecTuning } from "./local-exec.ts";
export { type SweepReport, sweepLocks } from "./lock-maintenance.ts";
export { capText, OutputCollector, truncationNote } from "./output-cap.ts";
export { isSecretEnvName, scrubEnv } from "./scrub-env.ts";
export { StreamInput } from "./session-input.ts";
export { createExecutionSession, type SessionParts, spawnCancelledError } from "./session-lifecycle.ts";
export { DEFAULT_MAX_BUFFERED_BYTES, type OutputFlow, SessionOutput } from "./session-output.ts";
export type { ToolDeps } from "./tool-kit.ts";
export { createWorkspaceTools, toolList, type WorkspaceTools } from "./workspace-tools.ts";
