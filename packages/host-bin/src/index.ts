export { checkConfig } from "./check-config.ts";
export { type CliCommand, type ConfigFlags, parseCli, type ServeFlags, UsageError, usage } from "./cli.ts";
export {
  ConfigError,
  type ConfigInputs,
  checkExtensionConfig,
  embeddedDefaultConfig,
  type HostConfig,
  hostConfigSchema,
  type LoadedConfig,
  loadConfig,
} from "./config.ts";
export { type CrashGuardOptions, FaultWindow, installCrashGuards } from "./crash-guards.ts";
export { activeConversations, builtinExtensions, loadExtensionPaths } from "./extensions.ts";
export { type ExtensionRow, formatExtensionTable, listExtensions } from "./list-extensions.ts";
export { type Prepared, prepare } from "./prepare.ts";
export { faultBudgetExitCode, type ServeEnvironment, serve } from "./serve.ts";
export { installSignalHandlers, type SignalOptions } from "./signals.ts";
export { StatusFile, type StatusFileOptions, type StatusSnapshot } from "./status-file.ts";
export { hostVersion } from "./version.ts";
