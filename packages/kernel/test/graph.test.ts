import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createServiceRef, resolveGraph, StartupError } from "../src/index.ts";
import { fake, hostOf, rejectionOf, thrownBy } from "./fixtures.ts";

function startupError(error: unknown): StartupError {
  expect(error).toBeInstanceOf(StartupError);
  return error as StartupError;
}

describe("graph check", () => {
  test("a missing dependency names the extension, the missing id and the installed ids", () => {
    const journal: string[] = [];
    const { host } = hostOf([fake("web", journal, { dependsOn: ["store"] }), fake("auth", journal)]);
    const error = startupError(thrownBy(() => host.check()));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.code).toBe("missing_dependency");
    expect(error.problems[0]?.extensionId).toBe("web");
    expect(error.problems[0]?.message).toBe(
      'extension "web" depends on "store", which is not installed (installed: auth, web)',
    );
  });

  test("a cycle is printed as a full path", () => {
    const journal: string[] = [];
    const { host } = hostOf([
      fake("a", journal, { dependsOn: ["b"] }),
      fake("b", journal, { dependsOn: ["c"] }),
      fake("c", journal, { dependsOn: ["a"] }),
      fake("d", journal, { dependsOn: ["a"] }),
    ]);
    const error = startupError(thrownBy(() => host.check()));
    expect(error.problems.map((p) => p.message)).toEqual(["dependency cycle: a -> b -> c -> a"]);
    expect(error.message).toContain("a -> b -> c -> a");
  });

  test("a cycle through an optional dependency is still a cycle", () => {
    const journal: string[] = [];
    const { host } = hostOf([
      fake("a", journal, { optionalDependsOn: ["b"] }),
      fake("b", journal, { dependsOn: ["a"] }),
    ]);
    const error = startupError(thrownBy(() => host.check()));
    expect(error.problems[0]?.message).toBe("dependency cycle: a -> b -> a");
  });

  test("a self-dependency is a cycle of one", () => {
    const { host } = hostOf([fake("a", [], { dependsOn: ["a"] })]);
    const error = startupError(thrownBy(() => host.check()));
    expect(error.problems[0]?.message).toBe("dependency cycle: a -> a");
  });

  test("two providers of one service are both named", () => {
    const ref = createServiceRef<number>("answer");
    const { host } = hostOf([fake("one", [], { provides: [ref] }), fake("two", [], { provides: [ref] })]);
    const error = startupError(thrownBy(() => host.check()));
    expect(error.problems).toEqual([
      {
        extensionId: "two",
        code: "duplicate_provider",
        message: 'service "answer" is provided by both "one" and "two"',
      },
    ]);
  });

  test("an id installed twice is an error", () => {
    const { host } = hostOf([fake("a", []), fake("a", [])]);
    const error = startupError(thrownBy(() => host.check()));
    expect(error.problems[0]?.code).toBe("duplicate_extension");
  });

  test("every problem is reported at once", () => {
    const ref = createServiceRef<number>("answer");
    const { host } = hostOf([
      fake("one", [], { provides: [ref], dependsOn: ["ghost"] }),
      fake("two", [], { provides: [ref] }),
    ]);
    const error = startupError(thrownBy(() => host.check()));
    expect(error.problems.map((p) => p.code).sort()).toEqual(["duplicate_provider", "missing_dependency"]);
  });

  test("invalid manifests are rejected before any extension code runs", async () => {
    const journal: string[] = [];
    const bad = { ...fake("ok-id", journal), manifest: { id: "Bad Id", version: "one", extra: true } };
    const { host } = hostOf([fake("fine", journal), bad]);
    const error = startupError(await rejectionOf(host.start()));
    expect(error.problems[0]?.code).toBe("invalid_manifest");
    expect(error.problems[0]?.message).toContain("id: must be a lowercase slug");
    expect(error.problems[0]?.message).toContain("version: must be a semver version");
    expect(error.problems[0]?.message).toContain("extra");
    expect(journal).toEqual([]);
  });

  test("a graph problem stops start-up before any activation", async () => {
    const journal: string[] = [];
    const { host } = hostOf([fake("a", journal), fake("b", journal, { dependsOn: ["missing"] })]);
    startupError(await rejectionOf(host.start()));
    expect(journal).toEqual([]);
  });
});

describe("activation order", () => {
  test("dependencies first, ties broken by id", () => {
    const { host } = hostOf([
      fake("zeta", []),
      fake("web", [], { dependsOn: ["store"], optionalDependsOn: ["zeta"] }),
      fake("store", []),
      fake("alpha", []),
    ]);
    host.check();
    expect([...host.order]).toEqual(["alpha", "store", "zeta", "web"]);
  });

  test("an absent optional dependency does not affect the order", () => {
    const { host } = hostOf([fake("b", [], { optionalDependsOn: ["nope"] }), fake("a", [])]);
    host.check();
    expect([...host.order]).toEqual(["a", "b"]);
  });

  test("for any DAG: each extension follows its dependencies, and input order does not matter", () => {
    const dag = fc.integer({ min: 1, max: 12 }).chain((n) =>
      fc.tuple(
        fc.constant(n),
        // edges only from a higher index to a lower one, so the graph is acyclic
        fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n - 1), fc.boolean()), { maxLength: 30 }),
        fc.array(fc.nat(), { minLength: n, maxLength: n }),
      ),
    );
    fc.assert(
      fc.property(dag, ([n, edges, shuffleKeys]) => {
        const ids = Array.from(
          { length: n },
          (_, i) => `ext-${String.fromCharCode(97 + ((i * 7) % 26))}${i}`,
        );
        const hard = ids.map(() => new Set<string>());
        const soft = ids.map(() => new Set<string>());
        for (const [x, y, optional] of edges) {
          if (x === y) continue;
          const [from, to] = x > y ? [x, y] : [y, x];
          (optional ? soft : hard)[from]?.add(ids[to] as string);
        }
        const nodes = ids.map((id, i) => ({
          manifest: {
            id,
            version: "1.0.0",
            dependsOn: [...(hard[i] ?? [])],
            optionalDependsOn: [...(soft[i] ?? [])],
            extends: [],
            critical: false,
          },
          provides: [],
        }));
        const shuffled = nodes
          .map((node, i) => ({ node, key: shuffleKeys[i] ?? 0 }))
          .sort((a, b) => a.key - b.key)
          .map(({ node }) => node);
        const first = resolveGraph(nodes);
        const second = resolveGraph(shuffled);
        if (!first.ok || !second.ok) throw new Error("an acyclic graph was rejected");
        expect(second.order).toEqual(first.order);
        expect([...first.order].sort()).toEqual([...ids].sort());
        const position = new Map(first.order.map((id, i) => [id, i]));
        for (const node of nodes) {
          for (const dep of [...node.manifest.dependsOn, ...node.manifest.optionalDependsOn]) {
            expect(position.get(dep) as number).toBeLessThan(position.get(node.manifest.id) as number);
          }
        }
      }),
    );
  });
});
