import { type CancelTimer, maxTimerDelayMs, setLongTimeout } from "@dispatch/kernel";

/** Time and timers as the manager sees them; injectable so tests drive the watchdog without sleeping. */
export interface Clock {
  /** Epoch milliseconds (the unit of `promptStartedAt` and `pauseUntil`). */
  now(): number;
  /** A one-shot timer that must not keep the process alive. */
  setTimeout(fn: () => void, ms: number): CancelTimer;
  /** A repeating timer that must not keep the process alive. */
  setInterval(fn: () => void, ms: number): CancelTimer;
}

/**
 * The real clock: `Date.now` and unref'd global timers. A timeout past setTimeout's limit (a long
 * provider pause) waits in steps instead of firing after 1 ms; an interval that long is refused.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setLongTimeout(fn, ms),
  setInterval: (fn, ms) => {
    if (!(ms >= 1 && ms <= maxTimerDelayMs)) {
      throw new RangeError(`Expected an interval of 1..${maxTimerDelayMs} ms, got \`${ms}\``);
    }
    const handle = setInterval(fn, ms);
    handle.unref?.();
    return () => clearInterval(handle);
  },
};
