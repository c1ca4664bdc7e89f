import { APICallError } from "@ai-sdk/provider";
import { DispatchError } from "@dispatch/kernel";
import type { ProviderErrorInfo } from "./types.ts";

/** Who failed, for messages: the provider id and the variable that holds its key. */
export interface ErrorSubject {
  providerId: string;
  /** The environment variable that holds the key, if the provider uses one. */
  apiKeyEnv?: string;
  /** Values that must never appear in a message (the API key). */
  secrets?: readonly string[];
}

/** What a provider said about a failure, gathered from whichever shape the SDK handed us. */
export interface ProviderAnswer {
  status?: number;
  /** The provider's error type or code (e.g. `overloaded_error`, `insufficient_quota`). */
  type?: string;
  message: string;
  retryAfterMs?: number;
}

const quotaPattern = /insufficient_quota|quota|billing|credit/i;

/** Reads `retry-after-ms` (milliseconds) or `Retry-After` (seconds or an HTTP date) from response headers. */
export function parseRetryAfter(
  headers: Readonly<Record<string, string | undefined>> | undefined,
  now = Date.now(),
): number | undefined {
  if (!headers) return undefined;
  const lower: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(headers)) lower[key.toLowerCase()] = value;
  const ms = Number.parseFloat(lower["retry-after-ms"] ?? "");
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const raw = lower["retry-after"]?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.ceil(Number.parseFloat(raw) * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Replaces every secret in `text` (keys shorter than 4 characters are too short to search for safely). */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join("[redacted]");
  return out;
}

/** True for the errors fetch and the SDK raise when an abort signal fired. */
export function isAbortError(error: unknown): boolean {
  return (
    (error instanceof Error || (typeof DOMException === "function" && error instanceof DOMException)) &&
    (error.name === "AbortError" || error.name === "ResponseAborted")
  );
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * Finds `{type, code, message}` in the bodies providers send: `{error:{…}}`,
 * `{type:"error",error:{…}}`, `{…}`, and the looser `{error:"…"}` / `{detail:"…"}` of some local servers.
 */
function errorFields(body: unknown): { type?: string; code?: string; message?: string } {
  const outer = record(body);
  if (!outer) return {};
  const inner = record(outer.error) ?? outer;
  const code = typeof inner.code === "number" ? String(inner.code) : str(inner.code);
  const message = str(inner.message) ?? str(outer.error) ?? str(outer.detail);
  return { type: str(inner.type), code, message };
}

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Gathers status, type, message and retry delay from any error the SDK raises or streams. */
export function readProviderAnswer(error: unknown): ProviderAnswer {
  if (APICallError.isInstance(error)) {
    const fields = errorFields(error.data ?? parseJson(error.responseBody));
    const type = fields.code && quotaPattern.test(fields.code) ? fields.code : (fields.type ?? fields.code);
    return {
      status: error.statusCode,
      type,
      message: fields.message ?? error.message,
      retryAfterMs: parseRetryAfter(error.responseHeaders),
    };
  }
  const obj = record(error);
  if (obj && !(error instanceof Error)) {
    // Stream errors: the SDK's ProviderStreamError ({message,type,code,statusCode}) or the raw
    // `error` object of an OpenAI-style chunk ({message,type,code}).
    const fields = errorFields(obj);
    const status = typeof obj.statusCode === "number" ? obj.statusCode : undefined;
    const type = fields.code && quotaPattern.test(fields.code) ? fields.code : (fields.type ?? fields.code);
    return { status, type, message: fields.message ?? JSON.stringify(obj) };
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof Error ? str(record(error)?.code) : undefined;
  return { type: code, message };
}

function describe(subject: ErrorSubject, answer: ProviderAnswer): string {
  const what = [answer.status, answer.type].filter((x) => x !== undefined).join(" ");
  return what === ""
    ? `provider "${subject.providerId}" failed: ${answer.message}`
    : `provider "${subject.providerId}" answered ${what}: ${answer.message}`;
}

/**
 * Classifies what the provider answered: 429 → rate_limited; 402, or a quota/credit body on
 * 400/429 → quota; 529 or `overloaded_error` → overloaded; 503 → unavailable (those three are
 * retryable); 401/403 → auth; other 4xx → bad_request; network failures and other 5xx →
 * stream_error (final).
 */
export function classifyAnswer(subject: ErrorSubject, answer: ProviderAnswer): ProviderErrorInfo {
  const { status, type = "" } = answer;
  const base = redact(describe(subject, answer), subject.secrets);
  const info = (code: ProviderErrorInfo["code"], retryable: boolean, message = base): ProviderErrorInfo => ({
    code,
    message,
    ...(status !== undefined ? { status } : {}),
    retryable,
    ...(answer.retryAfterMs !== undefined ? { retryAfterMs: answer.retryAfterMs } : {}),
  });
  if (status === 401 || status === 403) {
    const hint = subject.apiKeyEnv
      ? `check the API key in the environment variable ${subject.apiKeyEnv}`
      : "check the provider's credentials (apiKeyEnv in config names the variable that holds its key)";
    return info("auth", false, `${base}; ${hint}`);
  }
  const quotaStatus = status === 429 || status === 402 || status === 400;
  if (status === 402 || quotaPattern.test(type) || (quotaStatus && quotaPattern.test(answer.message))) {
    return info("quota", false, `${base}; the account's quota or credit is exhausted`);
  }
  if (status === 429 || /rate_limit/i.test(type)) return info("rate_limited", true);
  if (status === 529 || /overloaded/i.test(type)) return info("overloaded", true);
  if (status === 503) return info("unavailable", true);
  if (status === undefined && /overloaded/i.test(answer.message)) return info("overloaded", true);
  if (status !== undefined && status >= 400 && status < 500) return info("bad_request", false);
  return info("stream_error", false);
}

/** Turns any error a provider call raised or streamed into a ProviderErrorInfo (abort → `aborted`). */
export function classifyProviderError(subject: ErrorSubject, error: unknown): ProviderErrorInfo {
  if (isAbortError(error)) return abortedError(subject.providerId);
  return classifyAnswer(subject, readProviderAnswer(error));
}

/**
 * The error of a call whose signal fired, from the signal's reason: the concurrency watchdog aborts
 * with a DispatchError `stalled` (or `lease_reclaimed`) whose message names the timeout; anything
 * else is the caller's own abort.
 */
export function abortedError(providerId: string, reason?: unknown): ProviderErrorInfo {
  if (DispatchError.isInstance(reason) && reason.code === "stalled") {
    return { code: "stalled", message: reason.message, retryable: false };
  }
  if (DispatchError.isInstance(reason) && reason.code === "lease_reclaimed") {
    return { code: "stream_error", message: reason.message, retryable: false };
  }
  return { code: "aborted", message: `the call to provider "${providerId}" was aborted`, retryable: false };
}

/** The error of a provider whose key variable is not set. */
export function missingKeyError(providerId: string, apiKeyEnv: string): ProviderErrorInfo {
  return {
    code: "missing_key",
    message: `provider "${providerId}" has no API key: set the environment variable ${apiKeyEnv}`,
    retryable: false,
  };
}

/** The error of a call to a provider its kind could not build (for a reason other than a missing key). */
export function unavailableError(providerId: string, reason: string): ProviderErrorInfo {
  return {
    code: "unavailable",
    message: `provider "${providerId}" is unavailable: ${reason}`,
    retryable: false,
  };
}
