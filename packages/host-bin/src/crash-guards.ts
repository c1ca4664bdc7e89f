import type { FaultCounter, Logger } from "@dispatch/kernel";

/** Options for `installCrashGuards`. */
export interface CrashGuardOptions {
  faults: FaultCounter;
  logger: Logger;
  /** Faults tolerated within `windowMs`; one more triggers `onBudgetExceeded` (once). */
  budget: number;
  windowMs: number;
  onBudgetExceeded(faultsInWindow: number): void;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * A sliding window of fault times. Holds at most `budget + 1` entries, so memory stays bounded however
 * fast faults arrive; `add` is amortised O(1).
 */
export class FaultWindow {
  readonly #times: number[] = [];
  readonly #budget: number;
  readonly #windowMs: number;

  constructor(budget: number, windowMs: number) {
    this.#budget = budget;
    this.#windowMs = windowMs;
  }

  /** Records a fault at `now`; true when the window now holds more than the budget. */
  add(now: number): boolean {
    this.#times.push(now);
    while (this.#times.length > 0 && (this.#times[0] as number) <= now - this.#windowMs) this.#times.shift();
    if (this.#times.length > this.#budget + 1) this.#times.shift();
    return this.#times.length > this.#budget;
  }

  /** Faults currently inside the window. */
  get size(): number {
    return this.#times.length;
  }
}

/**
 * Keeps the process alive through `uncaughtException` and `unhandledRejection`: each is logged with its
 * stack and counted as a fault of source `process`. Every fault (process or extension) spends the
 * budget; past it, `onBudgetExceeded` runs once so the caller can shut down cleanly and exit non-zero.
 * Returns the function that removes the guards.
 */
export function installCrashGuards(options: CrashGuardOptions): () => void {
  const now = options.now ?? Date.now;
  const window = new FaultWindow(options.budget, options.windowMs);
  let tripped = false;
  const offFault = options.faults.onFault(() => {
    if (!window.add(now()) || tripped) return;
    tripped = true;
    options.logger.error("fault budget exceeded: shutting down", {
      faultsInWindow: window.size,
      budget: options.budget,
      windowMs: options.windowMs,
    });
    options.onBudgetExceeded(window.size);
  });
  const onException = (error: unknown) => options.faults.record("process", "uncaughtException", error);
  const onRejection = (reason: unknown) => options.faults.record("process", "unhandledRejection", reason);
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);
  return () => {
    offFault();
    process.off("uncaughtException", onException);
    process.off("unhandledRejection", onRejection);
  };
}
