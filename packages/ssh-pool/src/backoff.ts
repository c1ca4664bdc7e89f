/** Options for `backoffDelay`. */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** A number in [0, 1); `Math.random` unless a test pins it. */
  random?: () => number;
}

/**
 * Delay before reconnect attempt number `attempt` (1 = first retry): exponential growth capped at
 * `maxMs`, with "equal jitter" (half fixed, half random) so many clients do not retry in step while
 * a retry is never immediate.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  const random = options.random ?? Math.random;
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
