import { describe, expect, test } from "bun:test";
import { APICallError } from "@ai-sdk/provider";
import { DispatchError } from "@dispatch/kernel";
import fc from "fast-check";
import {
  abortedError,
  classifyAnswer,
  classifyProviderError,
  parseRetryAfter,
  redact,
} from "./classify-error.ts";

const subject = { providerId: "p", apiKeyEnv: "P_KEY" };

describe("parseRetryAfter", () => {
  test("reads retry-after-ms, then Retry-After seconds, then an HTTP date", () => {
    expect(parseRetryAfter({ "retry-after-ms": "1500.2" })).toBe(1501);
    expect(parseRetryAfter({ "Retry-After": "2" })).toBe(2000);
    expect(parseRetryAfter({ "retry-after": "0.5" })).toBe(500);
    expect(parseRetryAfter({ "retry-after": "2", "retry-after-ms": "20" })).toBe(20);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter({ "retry-after": "Thu, 01 Jan 2026 00:00:07 GMT" }, now)).toBe(7000);
  });

  test("ignores what it cannot read", () => {
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter({})).toBeUndefined();
    expect(parseRetryAfter({ "retry-after": "soon" })).toBeUndefined();
    expect(parseRetryAfter({ "retry-after-ms": "-5" })).toBeUndefined();
  });
});

describe("classifyAnswer", () => {
  const cases: Array<[string, Parameters<typeof classifyAnswer>[1], string, boolean]> = [
    ["429", { status: 429, type: "rate_limit_error", message: "slow down" }, "rate_limited", true],
    [
      "429 quota code",
      { status: 429, type: "insufficient_quota", message: "You exceeded your current quota" },
      "quota",
      false,
    ],
    [
      "429 quota message",
      { status: 429, type: "rate_limit_exceeded", message: "You exceeded your current quota" },
      "quota",
      false,
    ],
    [
      "400 credit",
      { status: 400, type: "invalid_request_error", message: "Your credit balance is too low" },
      "quota",
      false,
    ],
    ["402", { status: 402, message: "Insufficient credits" }, "quota", false],
    ["529", { status: 529, type: "overloaded_error", message: "Overloaded" }, "overloaded", true],
    ["overloaded stream event", { type: "overloaded_error", message: "Overloaded" }, "overloaded", true],
    ["503", { status: 503, message: "not ready" }, "unavailable", true],
    ["401", { status: 401, type: "authentication_error", message: "invalid x-api-key" }, "auth", false],
    ["403", { status: 403, type: "permission_error", message: "no" }, "auth", false],
    ["400", { status: 400, type: "invalid_request_error", message: "bad" }, "bad_request", false],
    ["500", { status: 500, type: "api_error", message: "oops" }, "stream_error", false],
    ["network", { type: "ECONNRESET", message: "socket closed" }, "stream_error", false],
  ];
  for (const [name, answer, code, retryable] of cases) {
    test(`${name} → ${code}`, () => {
      expect(classifyAnswer(subject, answer)).toMatchObject({ code, retryable });
    });
  }

  test("the message says what the provider answered: status, type and message", () => {
    const info = classifyAnswer(subject, {
      status: 429,
      type: "rate_limit_error",
      message: "slow down",
      retryAfterMs: 10,
    });
    expect(info).toEqual({
      code: "rate_limited",
      message: 'provider "p" answered 429 rate_limit_error: slow down',
      status: 429,
      retryable: true,
      retryAfterMs: 10,
    });
  });

  test("auth errors name the key variable", () => {
    expect(classifyAnswer(subject, { status: 401, message: "no" }).message).toContain("P_KEY");
    expect(classifyAnswer({ providerId: "p" }, { status: 401, message: "no" }).message).toContain(
      "apiKeyEnv",
    );
  });

  test("no message ever contains a secret it was given", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string({ minLength: 4 }),
        fc.string(),
        fc.integer({ min: 400, max: 599 }),
        (a, secret, b, status) => {
          const info = classifyAnswer(
            { ...subject, secrets: [secret] },
            { status, type: `${a}${secret}`, message: `${a}${secret}${b}` },
          );
          return !info.message.includes(secret) || "[redacted]".includes(secret);
        },
      ),
    );
  });
});

describe("classifyProviderError", () => {
  test("reads an APICallError's status, body and headers", () => {
    const error = new APICallError({
      message: "Too Many Requests",
      url: "http://x",
      requestBodyValues: {},
      statusCode: 429,
      responseHeaders: { "retry-after": "1" },
      responseBody: JSON.stringify({ error: { type: "rate_limit_error", message: "slow down" } }),
    });
    expect(classifyProviderError(subject, error)).toMatchObject({
      code: "rate_limited",
      status: 429,
      retryAfterMs: 1000,
      message: 'provider "p" answered 429 rate_limit_error: slow down',
    });
  });

  test("reads the looser error bodies of local servers", () => {
    const body = (responseBody: string) =>
      new APICallError({
        message: "Service Unavailable",
        url: "http://x",
        requestBodyValues: {},
        statusCode: 503,
        responseBody,
      });
    expect(classifyProviderError(subject, body('{"error":"model is loading"}')).message).toBe(
      'provider "p" answered 503: model is loading',
    );
    expect(classifyProviderError(subject, body('{"detail":"busy"}')).message).toBe(
      'provider "p" answered 503: busy',
    );
    expect(classifyProviderError(subject, body("<html>")).message).toBe(
      'provider "p" answered 503: Service Unavailable',
    );
  });

  test("reads a raw stream error object", () => {
    expect(classifyProviderError(subject, { message: "Overloaded", type: "overloaded_error" })).toMatchObject(
      {
        code: "overloaded",
        retryable: true,
      },
    );
  });

  test("an abort is `aborted`; a watchdog abort keeps its reason", () => {
    expect(classifyProviderError(subject, new DOMException("x", "AbortError")).code).toBe("aborted");
    const stalled = new DispatchError("stalled", "provider sent nothing for 50 ms");
    expect(abortedError("p", stalled)).toEqual({
      code: "stalled",
      message: stalled.message,
      retryable: false,
    });
    expect(abortedError("p", new DispatchError("lease_reclaimed", "held too long")).code).toBe(
      "stream_error",
    );
  });
});

test("redact replaces every occurrence and leaves short strings alone", () => {
  expect(redact("key abcd and abcd", ["abcd"])).toBe("key [redacted] and [redacted]");
  expect(redact("a b c", ["b"])).toBe("a b c");
});
