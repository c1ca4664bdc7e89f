import { DispatchError } from "@dispatch/kernel";

/** The pool is shut down. */
export function poolClosedError(hostId: string): DispatchError {
  return new DispatchError("unavailable", `the SSH pool for host "${hostId}" is shut down`, {
    details: { hostId },
  });
}

/** The circuit breaker is open and no live connection can take the command. */
export function breakerOpenError(
  hostId: string,
  failures: number,
  retryInMs: number,
  lastError: DispatchError | undefined,
): DispatchError {
  const last = lastError ? `; last error: ${lastError.message}` : "";
  return new DispatchError(
    "unavailable",
    `host "${hostId}" is unavailable: circuit breaker open after ${failures} consecutive connection failures, next attempt in ${Math.ceil(retryInMs / 1000)} s${last}`,
    { cause: lastError, details: { hostId, breaker: "open", retryInMs, lastError: lastError?.code ?? null } },
  );
}

/** The wait queue is at its bound. */
export function queueFullError(hostId: string, limit: number): DispatchError {
  return new DispatchError(
    "unavailable",
    `host "${hostId}" has ${limit} commands waiting for a channel already; try again later`,
    { details: { hostId, queueLimit: limit } },
  );
}

/** No channel became free (or no connection could be made) before the command's deadline. */
export function queueTimeoutError(
  hostId: string,
  timeoutMs: number,
  lastError: DispatchError | undefined,
): DispatchError {
  const last = lastError ? ` (last error: ${lastError.message})` : "";
  return new DispatchError(
    "unavailable",
    `no SSH channel to host "${hostId}" became available within ${timeoutMs} ms${last}`,
    { cause: lastError, details: { hostId, timeoutMs } },
  );
}

/** The connection died while a command ran; it may have partly run. */
export function connectionLostError(hostId: string, cause: unknown): DispatchError {
  return new DispatchError(
    "unavailable",
    `the connection to host "${hostId}" was lost while the command ran; it may have partly run`,
    { cause, details: { hostId } },
  );
}
