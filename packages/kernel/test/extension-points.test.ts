import { describe, expect, test } from "bun:test";
import { z } from "zod";
import {
  type AnyExtension,
  createExtensionPoint,
  createServiceRef,
  defineExtension,
  type ExtensionPoint,
  StartupError,
} from "../src/index.ts";
import { hostOf, rejectionOf, thrownBy } from "./fixtures.ts";

interface Kind {
  name: string;
  make(): string;
}
const kindsPoint = createExtensionPoint<Kind>({ id: "test.kinds", keyOf: (kind) => kind.name });
const notesPoint = createExtensionPoint<string>({ id: "test.notes" });

/** An owner of `kindsPoint` that records what it read at activation. */
function owner(seen: string[][], options: { contributeOwn?: boolean } = {}): AnyExtension {
  return defineExtension({
    manifest: { id: "owner", version: "1.0.0" },
    extensionPoints: [kindsPoint, notesPoint],
    register(reg) {
      if (options.contributeOwn) reg.contribute(kindsPoint, { name: "builtin", make: () => "b" });
    },
    activate(ctx) {
      seen.push(
        ctx.contributions(kindsPoint).map((c) => `${c.extensionId}:${c.value.name}=${c.value.make()}`),
      );
    },
  });
}

/** A contributor of one kind to `owner`. */
function contributor(
  id: string,
  kind: string,
  extra: { dependsOn?: string[]; extends?: string[]; activate?: () => void } = {},
): AnyExtension {
  return defineExtension({
    manifest: { id, version: "1.0.0", dependsOn: extra.dependsOn ?? [], extends: extra.extends ?? ["owner"] },
    register(reg) {
      reg.contribute(kindsPoint, { name: kind, make: () => kind.toUpperCase() });
    },
    activate() {
      extra.activate?.();
    },
  });
}

function problemsOf(error: unknown): Array<{ code: string; message: string }> {
  expect(error).toBeInstanceOf(StartupError);
  return (error as StartupError).problems.map(({ code, message }) => ({ code, message }));
}

describe("extension points", () => {
  test("contributions reach the owner when it activates, its own included, in activation order", async () => {
    const seen: string[][] = [];
    const { host } = hostOf([
      contributor("zeta", "z"),
      owner(seen, { contributeOwn: true }),
      contributor("alpha", "a"),
    ]);
    await host.start();
    expect(seen).toEqual([["owner:builtin=b", "alpha:a=A", "zeta:z=Z"]]);
    // a contributor activates after the owner it extends
    expect(host.order).toEqual(["owner", "alpha", "zeta"]);
    await host.stop();
  });

  test("every register runs before any activate", async () => {
    const journal: string[] = [];
    const ext = (id: string, deps: string[]): AnyExtension =>
      defineExtension({
        manifest: { id, version: "1.0.0", dependsOn: deps },
        register: () => void journal.push(`register:${id}`),
        activate: () => void journal.push(`activate:${id}`),
      });
    const { host } = hostOf([ext("b", ["a"]), ext("a", [])]);
    await host.start();
    expect(journal).toEqual(["register:a", "register:b", "activate:a", "activate:b"]);
    await host.stop();
  });

  test("a contribution to a missing owner fails the check, naming both, before anything runs", () => {
    let registered = false;
    const ext = defineExtension({
      manifest: { id: "echo", version: "1.0.0", extends: ["providers"] },
      register: () => {
        registered = true;
      },
      activate: () => {},
    });
    const { host } = hostOf([ext]);
    const problems = problemsOf(thrownBy(() => host.check()));
    expect(problems).toEqual([
      {
        code: "missing_owner",
        message: 'extension "echo" extends "providers", which is not installed (installed: echo)',
      },
    ]);
    expect(registered).toBe(false);
  });

  test("a contribution to a disabled owner fails the check; a disabled contributor is simply left out", async () => {
    const seen: string[][] = [];
    const { host } = hostOf([owner(seen), contributor("alpha", "a")], { disabled: ["owner"] });
    expect(problemsOf(thrownBy(() => host.check()))).toEqual([
      {
        code: "disabled_owner",
        message:
          'extension "alpha" extends "owner", which is disabled in config: disable "alpha" too, or enable "owner"',
      },
    ]);
    const second = hostOf([owner(seen), contributor("alpha", "a")], { disabled: ["alpha"] }).host;
    await second.start();
    expect(seen).toEqual([[]]);
    await second.stop();
  });

  test("two contributors of one unique name fail the check, naming both", () => {
    let activated = false;
    const { host } = hostOf([
      owner([]),
      contributor("one", "echo", { activate: () => (activated = true) }),
      contributor("two", "echo"),
    ]);
    expect(problemsOf(thrownBy(() => host.check()))).toEqual([
      {
        code: "duplicate_contribution",
        message: '"echo" is contributed to extension point "test.kinds" by both "one" and "two"',
      },
    ]);
    expect(activated).toBe(false);
  });

  test("a cycle through an extension point is printed with the extends edge", () => {
    // the owner needs a service of its own contributor, which must start after it
    const ref = createServiceRef<number>("n");
    const host = hostOf([
      defineExtension({
        manifest: { id: "owner", version: "1.0.0", dependsOn: ["plug"] },
        extensionPoints: [kindsPoint],
        activate: () => {},
      }),
      defineExtension({
        manifest: { id: "plug", version: "1.0.0", extends: ["owner"] },
        provides: [ref],
        activate: (ctx) => ctx.provide(ref, 1),
      }),
    ]).host;
    expect(problemsOf(thrownBy(() => host.check()))).toEqual([
      { code: "dependency_cycle", message: "dependency cycle: owner -> plug -(extends)-> owner" },
    ]);
  });

  test("contributing without listing the owner in extends, or to a point nobody offers, is refused", () => {
    const stray = createExtensionPoint<string>({ id: "nobody.offers" });
    const { host } = hostOf([
      owner([]),
      defineExtension({
        manifest: { id: "sneaky", version: "1.0.0" },
        register: (reg) => {
          reg.contribute(notesPoint, "hi");
          reg.contribute(stray, "x");
        },
        activate: () => {},
      }),
    ]);
    expect(problemsOf(thrownBy(() => host.check()))).toEqual([
      {
        code: "undeclared_extends",
        message:
          'extension "sneaky" contributes to "test.notes" of extension "owner" without listing "owner" in manifest.extends',
      },
      {
        code: "unknown_extension_point",
        message:
          'extension "sneaky" contributes to extension point "nobody.offers", which no installed extension offers',
      },
    ]);
  });

  test("a point offered by two extensions is refused", () => {
    const twin = defineExtension({
      manifest: { id: "twin", version: "1.0.0" },
      extensionPoints: [kindsPoint],
      activate: () => {},
    });
    expect(problemsOf(thrownBy(() => hostOf([owner([]), twin]).host.check()))).toEqual([
      {
        code: "duplicate_point",
        message: 'extension point "test.kinds" is provided by both "owner" and "twin"',
      },
    ]);
  });

  test("a contributor that fails to activate drops out of what the owner reads next", async () => {
    let read: () => string[] = () => [];
    const reader = defineExtension({
      manifest: { id: "owner", version: "1.0.0" },
      extensionPoints: [kindsPoint],
      activate(ctx) {
        read = () => ctx.contributions(kindsPoint).map((c) => c.value.name);
      },
    });
    const broken = contributor("broken", "b", {
      activate: () => {
        throw new Error("no");
      },
    });
    const { host } = hostOf([reader, broken, contributor("fine", "f")]);
    await host.start();
    expect(read()).toEqual(["f"]);
    await host.stop();
  });

  test("reading a point one does not own throws", async () => {
    let error: unknown;
    const { host } = hostOf([
      owner([]),
      defineExtension({
        manifest: { id: "peek", version: "1.0.0", extends: ["owner"] },
        activate(ctx) {
          error = thrownBy(() => ctx.contributions(kindsPoint as ExtensionPoint<Kind>));
        },
      }),
    ]);
    await host.start();
    expect((error as Error).message).toBe(
      'extension "peek" read contributions of extension point "test.kinds", which belongs to "owner"',
    );
    await host.stop();
  });

  test("a config schema built from contributions validates each entry with its kind's schema, by JSON path", async () => {
    const optionsPoint = createExtensionPoint<{ kind: string; options: z.ZodObject }>({
      id: "test.options",
      keyOf: (c) => c.kind,
    });
    const consumer = defineExtension({
      manifest: { id: "things", version: "1.0.0" },
      extensionPoints: [optionsPoint],
      config: {
        key: "things",
        schema: (points) => {
          const [first, ...rest] = points
            .contributions(optionsPoint)
            .map((c) => c.value.options.extend({ kind: z.literal(c.value.kind) }).strict());
          if (first === undefined) return z.array(z.never());
          return z.array(z.discriminatedUnion("kind", [first, ...rest]));
        },
      },
      activate: () => {},
    });
    const echo = defineExtension({
      manifest: { id: "echo", version: "1.0.0", extends: ["things"] },
      register: (reg) =>
        reg.contribute(optionsPoint, { kind: "echo", options: z.object({ loud: z.boolean() }) }),
      activate: () => {},
    });
    const bad = hostOf([consumer, echo], {
      config: {
        things: [
          { kind: "echo", loud: true },
          { kind: "echo", loud: 3 },
        ],
      },
    });
    const problems = problemsOf(thrownBy(() => bad.host.check()));
    expect(problems).toHaveLength(1);
    expect(problems[0]?.code).toBe("invalid_config");
    expect(problems[0]?.message).toStartWith("things[1].loud: ");
    expect((thrownBy(() => bad.host.check()) as StartupError).problems[0]?.path).toBe("things[1].loud");

    const good = hostOf([consumer, echo], { config: { things: [{ kind: "echo", loud: true }] } });
    await good.host.start();
    await good.host.stop();
  });

  test("reg.provided reaches the contributor's running state in the host it runs in, and only then", async () => {
    const counter = createServiceRef<{ count: number }>("test.counter");
    const seen: Array<() => string> = [];
    const reader = defineExtension({
      manifest: { id: "owner", version: "1.0.0" },
      extensionPoints: [kindsPoint],
      activate(ctx) {
        for (const c of ctx.contributions(kindsPoint)) seen.push(() => c.value.make());
      },
    });
    // One definition shared by two hosts, as the built-in extensions are.
    let started = 0;
    const counting = defineExtension({
      manifest: { id: "counting", version: "1.0.0", extends: ["owner"] },
      provides: [counter],
      register(reg) {
        const state = reg.provided(counter);
        expect(() => state()).toThrow(
          'service "test.counter" of extension "counting" is not available (state: pending)',
        );
        reg.contribute(kindsPoint, { name: "count", make: () => String(state().count) });
      },
      activate: (ctx) => ctx.provide(counter, { count: ++started }),
    });
    const first = hostOf([reader, counting]).host;
    const second = hostOf([reader, counting]).host;
    await first.start();
    await second.start();
    expect(seen.map((make) => make())).toEqual(["1", "2"]);
    await first.stop();
    expect(() => seen[0]?.()).toThrow("(state: stopped)");
    await second.stop();
  });

  test("reg.provided of a service the extension does not provide fails the check", () => {
    const other = createServiceRef<number>("test.other");
    const ext = defineExtension({
      manifest: { id: "grabby", version: "1.0.0" },
      register: (reg) => void reg.provided(other),
      activate: () => {},
    });
    expect(problemsOf(thrownBy(() => hostOf([ext]).host.check()))).toEqual([
      {
        code: "register_failed",
        message:
          'register failed: extension "grabby" asked for its own service "test.other" without listing it in its definition\'s `provides`',
      },
    ]);
  });

  test("register of an extension with a built config schema cannot read its config", () => {
    const self = createExtensionPoint<string>({ id: "self.point" });
    const ext = defineExtension({
      manifest: { id: "selfish", version: "1.0.0" },
      extensionPoints: [self],
      config: { key: "selfish", schema: () => z.string().default("x") },
      register: (reg) => void reg.config,
      activate: () => {},
    });
    expect(problemsOf(thrownBy(() => hostOf([ext]).host.check()))[0]?.code).toBe("register_failed");
  });
});

describe("declared service use", () => {
  const ref = createServiceRef<number>("answer");
  const provider = defineExtension({
    manifest: { id: "oracle", version: "1.0.0" },
    provides: [ref],
    activate: (ctx) => ctx.provide(ref, 42),
  });

  test("a consumed service whose provider is not a declared dependency fails the check before anything runs", () => {
    let ran = false;
    const user = defineExtension({
      manifest: { id: "user", version: "1.0.0" },
      consumes: [ref],
      activate: () => {
        ran = true;
      },
    });
    expect(problemsOf(thrownBy(() => hostOf([provider, user]).host.check()))).toEqual([
      {
        code: "undeclared_dependency",
        message:
          'extension "user" uses service "answer" of extension "oracle" without listing "oracle" in dependsOn or optionalDependsOn',
      },
    ]);
    expect(ran).toBe(false);
  });

  test("with `consumes` declared, ctx.use of an unlisted ref throws", async () => {
    const other = createServiceRef<string>("other");
    const otherProvider = defineExtension({
      manifest: { id: "other", version: "1.0.0" },
      provides: [other],
      activate: (ctx) => ctx.provide(other, "x"),
    });
    const user = defineExtension({
      manifest: { id: "user", version: "1.0.0", dependsOn: ["oracle", "other"], critical: true },
      consumes: [ref],
      activate: (ctx) => {
        expect(ctx.use(ref)).toBe(42);
        ctx.use(other);
      },
    });
    const error = await rejectionOf(hostOf([provider, otherProvider, user]).host.start());
    expect(problemsOf(error)).toEqual([
      {
        code: "activation_failed",
        message:
          'activation failed: extension "user" used service "other" without listing it in its definition\'s `consumes`',
      },
    ]);
  });
});
