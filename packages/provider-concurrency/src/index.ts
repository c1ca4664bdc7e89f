export { AbortRace } from "./abort-race.ts";
export { type Clock, systemClock } from "./clock.ts";
export { createConcurrencyManager, PriorityConcurrencyManager } from "./concurrency-manager.ts";
export { type ConcurrencyConfig, concurrencyConfigSchema } from "./config.ts";
export { providerConcurrencyExtension } from "./extension.ts";
export {
  type ConcurrencyManagerOptions,
  type ConcurrencyObserver,
  type GrantEvent,
  type ManagerTunables,
  managerDefaults,
  type ProviderStats,
} from "./manager-options.ts";
export {
  type AcquireRequest,
  type ConcurrencyManager,
  concurrencyManagerRef,
  type Lease,
  type ProviderSlotsSnapshot,
} from "./types.ts";
export {
  type ConcurrencyWrappedProvider,
  type StreamingProvider,
  type WrapContext,
  wrapProviderWithConcurrency,
} from "./wrap-provider-with-concurrency.ts";
