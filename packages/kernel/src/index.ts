export {
  type ConfigIssue,
  extensionConfigKeys,
  formatPath,
  issuesFrom,
  validateExtensionConfigs,
} from "./config.ts";
export type {
  CancelTimer,
  ExtensionContext,
  ExtensionState,
  ExtensionStatus,
  HostInfo,
  HostStatus,
} from "./context.ts";
export { DispatchError, KernelError, messageOf, StartupError, type StartupProblem } from "./errors.ts";
export {
  type DispatchEvents,
  EventBus,
  type EventHandler,
  type EventName,
  type ExtensionBus,
} from "./event-bus.ts";
export { FaultCounter } from "./faults.ts";
export { type GraphNode, type GraphResult, resolveGraph } from "./graph.ts";
export { createHost, Host, type HostOptions, type ShutdownReport } from "./host.ts";
export {
  createLogger,
  createMemoryLogger,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  type LogRecord,
  type LogSink,
  parseLogLevel,
  stderrSink,
  streamSink,
} from "./logger.ts";
export {
  type AnyExtension,
  defineExtension,
  type ExtensionConfigSpec,
  type ExtensionDefinition,
  type ExtensionManifest,
  type ExtensionManifestInput,
  manifestSchema,
} from "./manifest.ts";
export { createServiceRef, type ServiceRef } from "./service-ref.ts";
