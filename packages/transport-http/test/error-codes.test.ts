import { afterAll, beforeAll, expect, test } from "bun:test";
import { DispatchError, defineExtension } from "@dispatch/kernel";
import { ErrorBody, type ErrorCode, errorStatus } from "@dispatch/wire";
import { Hono } from "hono";
import { httpRoutesPoint } from "../src/routes-point.ts";
import { type ApiHarness, startApi } from "./harness.ts";

/** Mounts `GET /throw/:code`, which throws a DispatchError with that code, the way a route would. */
const thrower = defineExtension({
  manifest: { id: "thrower", version: "0.0.1", extends: ["transport-http"] },
  register(reg) {
    const routes = new Hono().get("/:code", (c) => {
      throw new DispatchError(c.req.param("code") as ErrorCode, `thrown with ${c.req.param("code")}`);
    });
    reg.contribute(httpRoutesPoint, { path: "/throw", routes, openapi: [] });
  },
  activate() {},
});

let api: ApiHarness;
beforeAll(async () => {
  api = await startApi({}, [thrower]);
});
afterAll(async () => {
  await api.stop();
});

test("DESIGN §7's codes have the contract's statuses", () => {
  expect(errorStatus).toMatchObject({
    invalid_request: 400,
    unauthorized: 401,
    forbidden: 403,
    not_found: 404,
    method_not_allowed: 405,
    conflict: 409,
    conversation_busy: 409,
    payload_too_large: 413,
    unsupported_media_type: 415,
    queue_full: 429,
    budget_exceeded: 429,
    memory_pressure: 503,
    shutting_down: 503,
    internal: 500,
  });
});

test("every error code (DispatchError accepts no other) answers over HTTP with its own status", async () => {
  const codes = Object.keys(errorStatus) as ErrorCode[];
  expect(codes.length).toBeGreaterThan(40);
  for (const code of codes) {
    const res = await api.fetch(`/throw/${code}`);
    const body = ErrorBody.parse(await res.json());
    const status = errorStatus[code];
    // A 500 says only `internal`: its message may carry internals, which stay in the log.
    const shown = status === 500 ? "internal" : code;
    expect(`${code} -> ${res.status} ${body.error.code}`).toBe(`${code} -> ${status} ${shown}`);
  }
});

test("the code is checked when the error is made: an unknown one does not compile", () => {
  const make = () =>
    // @ts-expect-error "no_such_code" is not in the table, so it cannot be thrown
    new DispatchError("no_such_code", "x");
  expect(typeof make).toBe("function");
});
