import { DispatchError } from "@dispatch/kernel";

/** `acquire` for a provider that was never given a limit. */
export function unknownProviderError(providerId: string): DispatchError {
  return new DispatchError(
    "unknown_provider",
    `provider "${providerId}" has no concurrency limit: it is not configured`,
    { details: { providerId } },
  );
}

/** `acquire` past the provider's queue bound. */
export function queueFullError(providerId: string, maxQueue: number): DispatchError {
  return new DispatchError(
    "provider_queue_full",
    `provider "${providerId}" already has ${maxQueue} calls waiting (the queue bound, maxQueue); try again later`,
    { details: { providerId, maxQueue } },
  );
}

/** Waiters rejected and calls refused once the manager is disposed. */
export function shutdownError(): DispatchError {
  return new DispatchError("shutdown", "the provider concurrency manager is shutting down");
}

/** The abort reason of a lease whose stream was silent past its `stallTimeoutMs`. */
export function stalledError(providerId: string, stallTimeoutMs: number): DispatchError {
  return new DispatchError(
    "stalled",
    `provider "${providerId}" sent nothing for more than ${stallTimeoutMs} ms (stallTimeoutMs); the call was aborted`,
    { details: { providerId, stallTimeoutMs } },
  );
}

/** The abort reason of a lease the safety net took back after `maxLeaseMs`. */
export function reclaimedError(providerId: string, heldMs: number, maxLeaseMs: number): DispatchError {
  return new DispatchError(
    "lease_reclaimed",
    `a call to provider "${providerId}" held its slot for ${heldMs} ms, more than maxLeaseMs (${maxLeaseMs} ms); the slot was reclaimed`,
    { details: { providerId, heldMs, maxLeaseMs } },
  );
}
