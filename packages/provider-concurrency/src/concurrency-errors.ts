import { DispatchError } from "@dispatch/kernel";
import type { AcquireRequest } from "./types.ts";

/**
 * Why an `acquire` request cannot be queued, or undefined. A NaN time would silently break the
 * heap's order, so it is refused here, at the boundary.
 */
export function invalidRequest(request: AcquireRequest): DispatchError | undefined {
  if (!Number.isFinite(request.promptStartedAt)) {
    return new DispatchError(
      "invalid_request",
      `Expected \`promptStartedAt\` to be a finite epoch-ms number, got \`${String(request.promptStartedAt)}\``,
    );
  }
  const stall = request.stallTimeoutMs;
  if (stall !== undefined && !(Number.isFinite(stall) && stall > 0)) {
    return new DispatchError(
      "invalid_request",
      `Expected \`stallTimeoutMs\` to be a number > 0, got \`${String(stall)}\``,
    );
  }
  return undefined;
}

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
