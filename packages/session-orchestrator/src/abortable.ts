/** What `raceAbort` returns when the signal won. */
export const aborted: unique symbol = Symbol("aborted");

/**
 * Waits for `promise` or for `signal`, whichever comes first. A cancel must settle even when a tool
 * or stream ignores its signal; the losing promise is left to finish on its own, its rejection
 * swallowed (the caller already has an outcome). The abort listener is removed either way.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | typeof aborted> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.resolve(aborted);
  }
  return new Promise<T | typeof aborted>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      resolve(aborted);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
