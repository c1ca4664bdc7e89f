export {
  type ConfigIssue,
  extensionConfigKeys,
  formatPath,
  hasBuiltSchema,
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
  EventBus,
  type EventHandler,
  type EventName,
  type ExtensionBus,
} from "./event-bus.ts";
export {
  type Contribution,
  type ContributionReader,
  createExtensionPoint,
  type ExtensionPoint,
  type ExtensionPointOptions,
} from "./extension-point.ts";
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
export { Counter, Gauge, Histogram, Registry } from "./metrics.ts";
export { perHost } from "./per-host.ts";
export type { RegisterContext } from "./registration.ts";
export { createServiceRef, type ServiceRef } from "./service-ref.ts";
export { maxTimerDelayMs, setLongTimeout, timerDelayMs } from "./timer-delay.ts";

/**
 * The events that travel on the in-process bus. Packages add their own by declaration merging:
 *
 *   declare module "@dispatch/kernel" { interface DispatchEvents { "workspace.starred": { id: string } } }
 *
 * It is declared here, in the package's entry module, because that is the module the augmentations
 * name; declared anywhere else and re-exported, the augmentations would make a second interface.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by declaration merging in other packages
export interface DispatchEvents {}
