import { DispatchError, type Logger, maxTimerDelayMs } from "@dispatch/kernel";
import type { Clock } from "./clock.ts";

/** What the manager reports as it works (for metrics). Callbacks run synchronously and must not throw. */
export interface ConcurrencyObserver {
  /** A lease was granted: at once (`waitedMs` 0, `queued` false) or to a queued waiter. */
  granted?(event: GrantEvent): void;
  /** The safety net took back a lease held longer than `maxLeaseMs`. */
  reclaimed?(event: { providerId: string; heldMs: number }): void;
  /** The stall watchdog aborted a lease silent for longer than its `stallTimeoutMs`. */
  stalled?(event: { providerId: string; silentMs: number }): void;
  /** `acquire` was refused because the provider's queue was full. */
  queueFull?(event: { providerId: string }): void;
}

/** One grant, as the observer sees it. */
export interface GrantEvent {
  providerId: string;
  workspaceId: string;
  turnId: string | null;
  /** False when a slot was free at once. */
  queued: boolean;
  waitedMs: number;
  /** The workspace was starred when the waiter was served. */
  starred: boolean;
  /** Served as if starred because it waited past `agingMs`. */
  aged: boolean;
}

/** The manager's tunables. */
export interface ManagerTunables {
  /** An unstarred waiter whose prompt is older than this is served as if starred. Default 120 000. */
  agingMs: number;
  /** Live waiters per provider before `acquire` fails with `provider_queue_full`. Default 10 000. */
  maxQueue: number;
  /** A lease held longer than this is reclaimed (a safety net, not the mechanism). Default 600 000. */
  maxLeaseMs: number;
  /** Period of the one watchdog timer (stalls, `maxLeaseMs`, cooling). Default 1 000. */
  watchdogIntervalMs: number;
}

/** Options of `createConcurrencyManager`. */
export interface ConcurrencyManagerOptions extends Partial<ManagerTunables> {
  /** Time and timers; the system clock by default. */
  clock?: Clock;
  logger?: Logger;
  observer?: ConcurrencyObserver;
}

/** Per-provider figures for metrics gauges; O(providers), unlike `snapshot()`. */
export interface ProviderStats {
  providerId: string;
  maxConcurrent: number;
  inFlight: number;
  queuedStarred: number;
  queuedUnstarred: number;
}

/** Defaults of the manager's tunables (the `concurrency` config slice uses the same). */
export const managerDefaults: Readonly<ManagerTunables> = {
  agingMs: 120_000,
  maxQueue: 10_000,
  maxLeaseMs: 600_000,
  watchdogIntervalMs: 1_000,
};

/** Applies defaults and checks each tunable once, at the boundary, with one message shape. */
export function checkedTunables(options: Partial<ManagerTunables>): ManagerTunables {
  const result = { ...managerDefaults };
  for (const key of Object.keys(managerDefaults) as Array<keyof ManagerTunables>) {
    const value = options[key];
    if (value === undefined) continue;
    const min = key === "agingMs" ? 0 : 1;
    // The watchdog period feeds setInterval, which turns anything longer into 1 ms.
    const max = key === "watchdogIntervalMs" ? maxTimerDelayMs : Number.MAX_SAFE_INTEGER;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new DispatchError(
        "invalid_request",
        `Expected \`${key}\` to be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got \`${String(value)}\``,
      );
    }
    result[key] = value;
  }
  return result;
}
