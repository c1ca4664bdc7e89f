import { describe, expect, test } from "bun:test";
import { createServiceRef, type ExtensionContext, KernelError, StartupError } from "../src/index.ts";
import { fake, hostOf, rejectionOf, thrownBy } from "./fixtures.ts";

interface Store {
  get(): string;
}
const storeRef = createServiceRef<Store>("store");
const cacheRef = createServiceRef<{ hits: number }>("cache");

function provideStore(ctx: ExtensionContext<unknown>) {
  ctx.provide(storeRef, { get: () => "from store" });
}

describe("activation", () => {
  test("activates in topological order and hands out typed services", async () => {
    const journal: string[] = [];
    let seen = "";
    const { host } = hostOf([
      fake("web", journal, {
        dependsOn: ["store"],
        activate: (ctx) => {
          seen = ctx.use(storeRef).get();
        },
      }),
      fake("store", journal, { provides: [storeRef], activate: provideStore }),
    ]);
    await host.start();
    expect(journal).toEqual(["activate:store", "activate:web"]);
    expect(seen).toBe("from store");
    expect(host.get(storeRef).get()).toBe("from store");
    expect(host.status().extensions.map((e) => [e.id, e.state])).toEqual([
      ["store", "active"],
      ["web", "active"],
    ]);
    await host.stop();
  });

  test("use of a service whose provider is not in dependsOn throws undeclared_dependency", async () => {
    let error: unknown;
    const { host } = hostOf([
      fake("store", [], { provides: [storeRef], activate: provideStore }),
      fake("web", [], {
        optionalDependsOn: ["store"],
        activate: (ctx) => {
          error = thrownBy(() => ctx.use(storeRef));
        },
      }),
    ]);
    await host.start();
    expect(KernelError.isInstance(error) && error.code).toBe("undeclared_dependency");
    expect((error as Error).message).toBe(
      'extension "web" used service "store" of extension "store" without listing "store" in dependsOn',
    );
    await host.stop();
  });

  test("useOptional of a provider listed nowhere throws undeclared_dependency too", async () => {
    let error: unknown;
    const { host } = hostOf([
      fake("store", [], { provides: [storeRef], activate: provideStore }),
      fake("web", [], {
        activate: (ctx) => {
          error = thrownBy(() => ctx.useOptional(storeRef));
        },
      }),
    ]);
    await host.start();
    expect((error as KernelError).code).toBe("undeclared_dependency");
    expect((error as Error).message).toContain("optionalDependsOn");
    await host.stop();
  });

  test("an absent optional dependency gives undefined", async () => {
    let seen: Store | undefined | "unset" = "unset";
    const { host } = hostOf([
      fake("web", [], {
        optionalDependsOn: ["store"],
        activate: (ctx) => {
          seen = ctx.useOptional(storeRef);
        },
      }),
    ]);
    await host.start();
    expect(seen).toBeUndefined();
    expect(host.tryGet(storeRef)).toBeUndefined();
    expect((thrownBy(() => host.get(storeRef)) as KernelError).code).toBe("service_unavailable");
    await host.stop();
  });

  test("a present optional dependency is activated first and used", async () => {
    const journal: string[] = [];
    let seen: string | undefined;
    const { host } = hostOf([
      fake("a-web", journal, {
        optionalDependsOn: ["store"],
        activate: (ctx) => {
          seen = ctx.useOptional(storeRef)?.get();
        },
      }),
      fake("store", journal, { provides: [storeRef], activate: provideStore }),
    ]);
    await host.start();
    expect(journal).toEqual(["activate:store", "activate:a-web"]);
    expect(seen).toBe("from store");
    await host.stop();
  });

  test("use of a service nobody provides throws unknown_service", async () => {
    let error: unknown;
    const { host } = hostOf([
      fake("web", [], {
        activate: (ctx) => {
          error = thrownBy(() => ctx.use(cacheRef));
        },
      }),
    ]);
    await host.start();
    expect((error as KernelError).code).toBe("unknown_service");
    await host.stop();
  });

  test("provide of a ref missing from `provides` throws undeclared_service", async () => {
    let error: unknown;
    const { host } = hostOf([
      fake("store", [], {
        activate: (ctx) => {
          error = thrownBy(() => ctx.provide(storeRef, { get: () => "" }));
        },
      }),
    ]);
    await host.start();
    expect((error as KernelError).code).toBe("undeclared_service");
    expect((error as Error).message).toContain('"store"');
    await host.stop();
  });

  test("a declared service not provided during activate is an activation failure", async () => {
    const { host } = hostOf([fake("store", [], { provides: [storeRef, cacheRef], activate: provideStore })]);
    await host.start();
    const [status] = host.status().extensions;
    expect(status?.state).toBe("failed");
    expect(status?.reason).toBe('declared service(s) "cache" but did not provide them during activate');
    await host.stop();
  });
});

describe("critical failure", () => {
  test("rolls back what had started in reverse order and reports once", async () => {
    const journal: string[] = [];
    const { host } = hostOf([
      fake("a", journal, { provides: [storeRef], activate: provideStore }),
      fake("b", journal, {
        dependsOn: ["a"],
        activate: (ctx) => ctx.onDispose(() => void journal.push("dispose:b")),
      }),
      fake("c", journal),
      fake("d", journal, {
        critical: true,
        activate: (ctx) => {
          ctx.onDispose(() => void journal.push("dispose:d"));
          throw new Error("disk on fire");
        },
      }),
      fake("e", journal),
    ]);
    const error = (await rejectionOf(host.start())) as StartupError;
    expect(error).toBeInstanceOf(StartupError);
    expect(error.code).toBe("startup_failed");
    expect(error.problems.map((p) => [p.extensionId, p.code])).toEqual([["d", "activation_failed"]]);
    expect(error.message).toBe("Dispatch could not start:\n  - [d] activation failed: disk on fire");
    expect(journal).toEqual([
      "activate:a",
      "activate:b",
      "activate:c",
      "activate:d",
      // d's own disposers run, but not its deactivate: it never finished activating
      "dispose:d",
      "deactivate:c",
      "dispose:b",
      "deactivate:b",
      "deactivate:a",
    ]);
    expect(host.status().extensions.map((e) => [e.id, e.state])).toEqual([
      ["a", "stopped"],
      ["b", "stopped"],
      ["c", "stopped"],
      ["d", "failed"],
      ["e", "pending"],
    ]);
  });

  test("an extension a critical one needs (transitively) is critical too", async () => {
    const journal: string[] = [];
    const { host } = hostOf([
      fake("base", journal, {
        activate: () => {
          throw new Error("no base");
        },
      }),
      fake("middle", journal, { dependsOn: ["base"] }),
      fake("top", journal, { dependsOn: ["middle"], critical: true }),
    ]);
    const error = (await rejectionOf(host.start())) as StartupError;
    expect(error.problems.map((p) => p.extensionId)).toEqual(["base"]);
    expect(journal).toEqual(["activate:base"]);
  });

  test("errors while rolling back are added to the same report", async () => {
    const { host } = hostOf([
      fake("a", [], {
        deactivate: () => {
          throw new Error("could not close");
        },
      }),
      fake("b", [], {
        critical: true,
        activate: () => Promise.reject(new Error("boom")),
      }),
    ]);
    const error = (await rejectionOf(host.start())) as StartupError;
    expect(error.problems.map((p) => [p.extensionId, p.code, p.message])).toEqual([
      ["b", "activation_failed", "activation failed: boom"],
      ["a", "rollback_failed", "while rolling back: could not close"],
    ]);
  });

  test("a critical extension skipped because its dependency is disabled aborts start-up", async () => {
    const journal: string[] = [];
    const { host } = hostOf([fake("a", journal), fake("b", journal, { dependsOn: ["a"], critical: true })], {
      disabled: ["a"],
    });
    const error = (await rejectionOf(host.start())) as StartupError;
    expect(error.problems).toEqual([
      { extensionId: "b", code: "skipped", message: 'dependency "a" is disabled' },
    ]);
    expect(journal).toEqual([]);
  });
});

describe("non-critical failure", () => {
  test("marks it failed, skips hard dependents transitively, keeps optional dependents", async () => {
    const journal: string[] = [];
    let optionalSaw: Store | undefined | "unset" = "unset";
    const { host, records } = hostOf([
      fake("store", journal, {
        provides: [storeRef],
        activate: () => {
          throw new Error("no database");
        },
      }),
      fake("web", journal, { dependsOn: ["store"] }),
      fake("widget", journal, { dependsOn: ["web"] }),
      fake("viewer", journal, {
        optionalDependsOn: ["store"],
        activate: (ctx) => {
          optionalSaw = ctx.useOptional(storeRef);
        },
      }),
      fake("zz-other", journal),
    ]);
    await host.start();
    expect(journal).toEqual(["activate:store", "activate:viewer", "activate:zz-other"]);
    expect(optionalSaw).toBeUndefined();
    const states = host.status().extensions.map((e) => [e.id, e.state, e.reason]);
    expect(states).toEqual([
      ["store", "failed", "no database"],
      ["viewer", "active", undefined],
      ["web", "skipped", 'dependency "store" is failed'],
      ["widget", "skipped", 'dependency "web" is skipped'],
      ["zz-other", "active", undefined],
    ]);
    expect(records.some((r) => r.msg === "extension failed to start" && r.ext === "store")).toBe(true);
    const report = await host.stop();
    expect(report.stopped).toEqual(["zz-other", "viewer"]);
  });

  test("a disabled extension is not activated and its hard dependents are skipped", async () => {
    const journal: string[] = [];
    const { host } = hostOf(
      [fake("a", journal), fake("b", journal, { dependsOn: ["a"] }), fake("c", journal)],
      {
        disabled: ["a"],
      },
    );
    await host.start();
    expect(journal).toEqual(["activate:c"]);
    expect(host.status().extensions.map((e) => [e.id, e.state, e.reason])).toEqual([
      ["a", "disabled", "disabled in config"],
      ["b", "skipped", 'dependency "a" is disabled'],
      ["c", "active", undefined],
    ]);
    await host.stop();
  });
});

describe("onReady", () => {
  test("runs after every extension has activated, in activation order", async () => {
    const journal: string[] = [];
    const { host } = hostOf([
      fake("a", journal, { activate: (ctx) => ctx.onReady(() => void journal.push("ready:a")) }),
      fake("b", journal, { activate: (ctx) => ctx.onReady(() => void journal.push("ready:b")) }),
    ]);
    await host.start();
    expect(journal).toEqual(["activate:a", "activate:b", "ready:a", "ready:b"]);
    await host.stop();
  });

  test("a critical extension failing in onReady rolls everything back in reverse order", async () => {
    const journal: string[] = [];
    const { host } = hostOf([
      fake("a", journal),
      fake("b", journal, {
        critical: true,
        activate: (ctx) =>
          ctx.onReady(() => {
            throw new Error("port taken");
          }),
      }),
      fake("c", journal, { dependsOn: ["b"] }),
    ]);
    const error = (await rejectionOf(host.start())) as StartupError;
    expect(error.problems.map((p) => [p.extensionId, p.message])).toEqual([
      ["b", "activation failed: port taken"],
    ]);
    expect(journal).toEqual([
      "activate:a",
      "activate:b",
      "activate:c",
      "deactivate:c",
      "deactivate:b",
      "deactivate:a",
    ]);
    expect(host.status().extensions.find((e) => e.id === "b")?.state).toBe("failed");
  });

  test("a non-critical failure in onReady stops it and its active hard dependents", async () => {
    const journal: string[] = [];
    const { host } = hostOf([
      fake("a", journal, {
        activate: (ctx) =>
          ctx.onReady(() => {
            throw new Error("not ready");
          }),
      }),
      fake("b", journal, {
        dependsOn: ["a"],
        activate: (ctx) => ctx.onReady(() => void journal.push("ready:b")),
      }),
      fake("c", journal, { optionalDependsOn: ["a"] }),
    ]);
    await host.start();
    expect(journal).toEqual(["activate:a", "activate:b", "activate:c", "deactivate:b", "deactivate:a"]);
    expect(host.status().extensions.map((e) => [e.id, e.state, e.reason])).toEqual([
      ["a", "failed", "not ready"],
      ["b", "skipped", 'dependency "a" is failed'],
      ["c", "active", undefined],
    ]);
    const report = await host.stop();
    expect(report.stopped).toEqual(["c"]);
  });
});
