import { DispatchError } from "@dispatch/kernel";
import { type ErrorBody, errorStatus } from "@dispatch/wire";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Maps a DispatchError code to its HTTP status; codes outside the table are client errors or internal. */
export function statusFor(code: string): ContentfulStatusCode {
  return code in errorStatus ? errorStatus[code as keyof typeof errorStatus] : 500;
}

/** The one error body shape of the API. */
export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

const httpCodes: Record<number, string> = {
  400: "invalid_request",
  401: "unauthorized",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

/** Renders any thrown value as the API's error response; unknown errors become a 500 without internals. */
export function errorResponse(c: Context, error: unknown): Response {
  if (error instanceof HTTPException && error.status < 500) {
    const code = httpCodes[error.status] ?? "invalid_request";
    return c.json(errorBody(code, error.message || code), error.status as ContentfulStatusCode);
  }
  if (DispatchError.isInstance(error)) {
    const status = statusFor(error.code);
    if (status !== 500) {
      return c.json(errorBody(error.code, error.message, error.details), status);
    }
  }
  return c.json(errorBody("internal", "internal error; see the server log for this request id"), 500);
}

/** Shorthand for an `invalid_request` error. */
export function invalidRequest(message: string, details?: Record<string, unknown>): DispatchError {
  return new DispatchError("invalid_request", message, { details });
}

/** Shorthand for a `not_found` error. */
export function notFound(message: string): DispatchError {
  return new DispatchError("not_found", message);
}
