export { type BackoffOptions, backoffDelay } from "./backoff.ts";
export { type BreakerState, CircuitBreaker, type CircuitBreakerOptions } from "./circuit-breaker.ts";
export { type HostConfig, type HostConfigInput, hostConfigSchema, hostsConfigSchema } from "./config.ts";
export {
  type ChannelLease,
  ConnectionPool,
  type ConnectionPoolOptions,
  type PoolStats,
} from "./connection-pool.ts";
export { sshPoolExtension } from "./extension.ts";
export { fingerprintOf, fingerprintsMatch } from "./fingerprint.ts";
export { breakerStateValue, sshMetricNames } from "./pool-metrics.ts";
export { createRemoteBackend } from "./remote-backend.ts";
export { buildRemoteCommand, killGroupCommand, shellQuote, terminateGroupCommand } from "./remote-command.ts";
export { type PoolExecOptions, type PoolRunOptions, type PoolSpawnOptions, SshPool } from "./ssh-pool.ts";
export { type SshPools, sshPoolsRef } from "./types.ts";
