import type { ErrorCode } from "./types.js";

const brand: unique symbol = Symbol.for("@dispatch/client.DispatchApiError");

/**
 * A call that failed: the API's error body (`code`, `message`, `details`) with the HTTP `status`.
 * A failure before any answer (connection refused, reset, aborted) has `status` 0 and code
 * `network_error` (or `aborted`), with the cause attached.
 */
export class DispatchApiError extends Error {
  /** The error code, e.g. `not_found` or `conversation_busy`. */
  readonly code: ErrorCode | "network_error" | "aborted" | (string & {});
  /** The HTTP status, or 0 when no answer arrived. */
  readonly status: number;
  /** What the API added (for `invalid_request`, the fields that were wrong). */
  readonly details: unknown;
  /** The answer's `X-Request-Id`, to find the host's log lines. */
  readonly requestId: string | undefined;
  readonly [brand] = true;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { details?: unknown; requestId?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DispatchApiError";
    this.status = status;
    this.code = code;
    this.details = options.details;
    this.requestId = options.requestId;
  }

  /** True for a DispatchApiError, even one made by another copy of this package. */
  static isInstance(value: unknown): value is DispatchApiError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }
}

/** The error of a non-2xx answer, read from its body (which is the API's error JSON when the host made it). */
export async function errorFromResponse(res: Response): Promise<DispatchApiError> {
  const requestId = res.headers.get("x-request-id") ?? undefined;
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    const error = body.error;
    if (error !== undefined && typeof error.code === "string" && typeof error.message === "string") {
      return new DispatchApiError(res.status, error.code, error.message, {
        details: error.details,
        requestId,
      });
    }
  } catch {
    // not JSON: a proxy or something other than the host answered
  }
  return new DispatchApiError(res.status, `http_${res.status}`, `HTTP ${res.status}: ${text.slice(0, 200)}`, {
    requestId,
  });
}

/** A failure before any answer, as a DispatchApiError. */
export function networkError(cause: unknown, signal: AbortSignal | undefined): DispatchApiError {
  if (signal?.aborted) return new DispatchApiError(0, "aborted", "the call was aborted", { cause });
  const message = cause instanceof Error ? cause.message : String(cause);
  return new DispatchApiError(0, "network_error", `could not reach the host: ${message}`, { cause });
}
