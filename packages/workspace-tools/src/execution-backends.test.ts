import { expect, test } from "bun:test";
import { DispatchError } from "@dispatch/kernel";
import type { ExecutionBackend } from "./backend.ts";
import { createExecutionBackends } from "./execution-backends.ts";
import { createLocalBackend } from "./local-backend.ts";

const local = createLocalBackend();
const remote: ExecutionBackend = { ...local, id: "build-box" };

test("forHost(null) is the local backend", () => {
  expect(createExecutionBackends(local).forHost(null)).toBe(local);
});

test("a registered backend is found by host id until it is unregistered", () => {
  const backends = createExecutionBackends(local);
  const unregister = backends.register("build-box", remote);
  expect(backends.forHost("build-box")).toBe(remote);
  unregister();
  expect(() => backends.forHost("build-box")).toThrow(/build-box/);
});

test("an unknown host is not_found and named", () => {
  const backends = createExecutionBackends(local);
  backends.register("other", remote);
  try {
    backends.forHost("nowhere");
    throw new Error("expected a throw");
  } catch (error) {
    expect(DispatchError.isInstance(error) && error.code).toBe("not_found");
    expect((error as Error).message).toContain('"nowhere"');
    expect((error as Error).message).toContain("other");
  }
});

test("a second registration for the same host is a conflict; a stale unregister keeps the newer one", () => {
  const backends = createExecutionBackends(local);
  const first = backends.register("h", remote);
  expect(() => backends.register("h", remote)).toThrow(/already registered/);
  first();
  const newer: ExecutionBackend = { ...local, id: "h" };
  backends.register("h", newer);
  first();
  expect(backends.forHost("h")).toBe(newer);
});
