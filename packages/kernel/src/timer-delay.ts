import { z } from "zod";
import type { CancelTimer } from "./context.ts";

/**
 * The longest delay `setTimeout` and `setInterval` honour (2^31 - 1 ms, about 24.8 days). A longer
 * one, like `Infinity` or `NaN`, silently becomes 1 ms, so a timer that re-arms for "the rest" of a
 * long wait spins every millisecond.
 */
export const maxTimerDelayMs = 2 ** 31 - 1;

/**
 * A one-shot, unref'd timer for any delay: past `maxTimerDelayMs` it waits in steps of at most that
 * long, so `fn` runs once, no earlier than asked. `Infinity` never fires (and never spins); a negative
 * or `NaN` delay fires at once. The returned function cancels it (idempotent).
 */
export function setLongTimeout(fn: () => void, delayMs: number): CancelTimer {
  const due = Date.now() + (Number.isNaN(delayMs) ? 0 : Math.max(0, delayMs));
  let handle: ReturnType<typeof setTimeout> | undefined;
  const arm = (waitMs: number) => {
    handle = setTimeout(step, Math.min(maxTimerDelayMs, Math.max(0, waitMs)));
    handle.unref?.();
  };
  const step = () => {
    const left = due - Date.now();
    if (left > 0) arm(left);
    else {
      handle = undefined;
      fn();
    }
  };
  arm(due - Date.now());
  return () => {
    if (handle !== undefined) clearTimeout(handle);
    handle = undefined;
  };
}

/**
 * A config value in milliseconds that feeds a timer: an integer from `min` to `maxTimerDelayMs`, so
 * that no configured delay can overflow into a 1 ms timer.
 */
export function timerDelayMs(min: number) {
  return z
    .number()
    .int()
    .min(min)
    .max(maxTimerDelayMs, `must be at most ${maxTimerDelayMs} ms (about 24.8 days, the longest timer)`);
}
