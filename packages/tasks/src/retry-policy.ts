/** Why an attempt ended without completing, and whether that is worth another attempt. */
export interface AttemptFailure {
  /** Stored as the attempt's status. */
  status: "failed" | "stuck" | "interrupted" | "cancelled";
  message: string;
  retryable: boolean;
  /** A budget ran out: wait for the next day instead of failing. */
  budget?: boolean;
}

/** Provider error codes that outlived the provider's own retries but may pass later. */
const retryableCodes = new Set([
  "rate_limited",
  "overloaded",
  "unavailable",
  "stream_error",
  "stalled",
  "provider_queue_full",
  "validation_failed",
]);

/**
 * Classifies a failed turn by its error code (DESIGN §12): provider failures after their own
 * retries and a failed validation are retried; a bad request, a spent budget, an exhausted step
 * count and anything unknown are final, so a broken spec does not burn attempts.
 */
export function classifyFailure(code: string | undefined, message: string): AttemptFailure {
  if (code === "budget_exceeded") return { status: "failed", message, retryable: false, budget: true };
  return { status: "failed", message, retryable: code !== undefined && retryableCodes.has(code) };
}

/** The wait before retry number `retry` (1-based); the last configured delay repeats. */
export function backoffMs(schedule: readonly number[], retry: number): number {
  const index = Math.min(Math.max(retry, 1), schedule.length) - 1;
  return schedule[index] ?? 0;
}
