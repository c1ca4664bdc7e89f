import { expect, test } from "bun:test";
import { type Contribution, DispatchError } from "@dispatch/kernel";
import type { ExecutionBackend } from "./backend.ts";
import type { ExecutionBackendContribution } from "./backend-point.ts";
import { createExecutionBackends, executionBackendsFrom } from "./execution-backends.ts";
import { createLocalBackend } from "./local-backend.ts";

const local = createLocalBackend();
const remote: ExecutionBackend = { ...local, id: "build-box" };

/** A contribution from `extensionId` that counts how often its backend is made. */
function contribution(hostId: string, backend: ExecutionBackend, made: string[], extensionId = "ssh") {
  return {
    extensionId,
    value: {
      hostId,
      create: () => {
        made.push(hostId);
        return backend;
      },
    },
  } satisfies Contribution<ExecutionBackendContribution>;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return DispatchError.isInstance(error) ? error.code : "not a DispatchError";
  }
  return undefined;
}

test("forHost(null) is the local backend", () => {
  expect(createExecutionBackends(local).forHost(null)).toBe(local);
  expect(createExecutionBackends(local, [remote]).forHost("build-box")).toBe(remote);
});

test("a contributed backend is made on first use, once", () => {
  const made: string[] = [];
  const contributions = [
    contribution("local", local, made, "workspace-tools"),
    contribution("build-box", remote, made),
  ];
  const backends = executionBackendsFrom(() => contributions);
  expect(made).toEqual([]);
  expect(backends.forHost("build-box")).toBe(remote);
  expect(backends.forHost("build-box")).toBe(remote);
  expect(backends.forHost(null)).toBe(local);
  expect(made).toEqual(["build-box", "local"]);
});

test("an unknown host is not_found and named, with the known hosts", () => {
  const backends = executionBackendsFrom(() => [
    contribution("local", local, [], "workspace-tools"),
    contribution("other", remote, []),
  ]);
  expect(codeOf(() => backends.forHost("nowhere"))).toBe("not_found");
  expect(() => backends.forHost("nowhere")).toThrow(
    'no execution backend for host "nowhere" (known hosts: other)',
  );
});

test("a backend whose contributor is gone from the point is not found any more", () => {
  const made: string[] = [];
  let live = [contribution("build-box", remote, made)];
  const backends = executionBackendsFrom(() => live);
  expect(backends.forHost("build-box")).toBe(remote);
  live = [];
  expect(() => backends.forHost("build-box")).toThrow(
    'no execution backend for host "build-box" (known hosts: none)',
  );
});

test("a factory that throws is unavailable, names its extension, and is tried again next time", () => {
  let fail = true;
  const backends = executionBackendsFrom(() => [
    {
      extensionId: "flaky",
      value: {
        hostId: "h",
        create: () => {
          if (fail) throw new Error("no pool yet");
          return remote;
        },
      },
    },
  ]);
  expect(codeOf(() => backends.forHost("h"))).toBe("unavailable");
  expect(() => backends.forHost("h")).toThrow(
    'the execution backend for host "h" (from extension "flaky") could not be made: no pool yet',
  );
  fail = false;
  expect(backends.forHost("h")).toBe(remote);
});
