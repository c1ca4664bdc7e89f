import type { CancelTimer } from "@dispatch/kernel";

/** Time and timers as the manager sees them; injectable so tests drive the watchdog without sleeping. */
export interface Clock {
  /** Epoch milliseconds (the unit of `promptStartedAt` and `pauseUntil`). */
  now(): number;
  /** A one-shot timer that must not keep the process alive. */
  setTimeout(fn: () => void, ms: number): CancelTimer;
  /** A repeating timer that must not keep the process alive. */
  setInterval(fn: () => void, ms: number): CancelTimer;
}

/** The real clock: `Date.now` and unref'd global timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref?.();
    return () => clearTimeout(handle);
  },
  setInterval: (fn, ms) => {
    const handle = setInterval(fn, ms);
    handle.unref?.();
    return () => clearInterval(handle);
  },
};
