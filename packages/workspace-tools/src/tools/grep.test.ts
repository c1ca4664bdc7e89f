import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeSandbox, makeTools, type Sandbox, toolContext } from "../../test/fixtures.ts";
import { grepMaxFileBytes } from "./grep.ts";

let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
  const w = (path: string, text: string | Buffer) => {
    mkdirSync(join(box.root, path, ".."), { recursive: true });
    writeFileSync(join(box.root, path), text);
  };
  w("src/a.ts", "export const alpha = 1;\nconst beta = 2;\n");
  w("src/sub/b.ts", "// Alpha here\nalpha();\n");
  w("README.md", "alpha in docs\n");
  w(".git/config", "alpha in git\n");
  w("node_modules/dep/index.js", "alpha in deps\n");
  w("bin.dat", Buffer.from("alpha\0binary"));
});
afterEach(() => box.cleanup());

test("prints path:line: text in sorted walk order, skipping .git, node_modules and binaries", async () => {
  const { tools } = makeTools();
  const result = await tools.grep.run({ pattern: "alpha" }, toolContext(box.root));
  expect(result).toEqual({
    output: [
      "README.md:1: alpha in docs",
      "src/a.ts:1: export const alpha = 1;",
      "src/sub/b.ts:2: alpha();",
    ].join("\n"),
  });
});

test("ignoreCase, a regex, a sub-directory, a single file and a glob", async () => {
  const { tools } = makeTools();
  const ctx = toolContext(box.root);
  expect((await tools.grep.run({ pattern: "^//", ignoreCase: true, path: "src" }, ctx)).output).toBe(
    "src/sub/b.ts:1: // Alpha here",
  );
  expect((await tools.grep.run({ pattern: "alpha", ignoreCase: true, path: "src/sub" }, ctx)).output).toBe(
    "src/sub/b.ts:1: // Alpha here\nsrc/sub/b.ts:2: alpha();",
  );
  expect((await tools.grep.run({ pattern: "beta|alpha", path: "src/a.ts" }, ctx)).output).toBe(
    "src/a.ts:1: export const alpha = 1;\nsrc/a.ts:2: const beta = 2;",
  );
  expect((await tools.grep.run({ pattern: "alpha", glob: "*.md" }, ctx)).output).toBe(
    "README.md:1: alpha in docs",
  );
});

test("no match says how many files were scanned", async () => {
  const { tools } = makeTools();
  expect((await tools.grep.run({ pattern: "zzz" }, toolContext(box.root))).output).toBe(
    "no matches (scanned 4 files)",
  );
});

test("stops at grepMaxMatches and grepMaxFiles, and says so", async () => {
  for (let i = 0; i < 10; i++) writeFileSync(join(box.root, `m${i}.txt`), "hit\nhit\nhit\n");
  const { tools } = makeTools({ grepMaxMatches: 5 });
  const capped = await tools.grep.run({ pattern: "hit" }, toolContext(box.root));
  expect(capped.output.split("\n").filter((l) => l.includes(": hit"))).toHaveLength(5);
  expect(capped.output).toEndWith("[truncated: stopped at 5 matches; narrow the pattern or path]");

  const few = makeTools({ grepMaxFiles: 3 });
  const limited = await few.tools.grep.run({ pattern: "hit", glob: "m*.txt" }, toolContext(box.root));
  expect(limited.output.split("\n").filter((l) => l.includes(": hit"))).toHaveLength(9);
  expect(limited.output).toEndWith("[truncated: stopped after scanning 3 files; narrow the path or glob]");
});

test("long lines are shortened", async () => {
  writeFileSync(join(box.root, "wide.txt"), `needle${"x".repeat(1000)}`);
  const { tools } = makeTools();
  const result = await tools.grep.run({ pattern: "needle", path: "wide.txt" }, toolContext(box.root));
  expect(result.output.length).toBeLessThan(400);
  expect(result.output).toEndWith("…");
});

test("an invalid regex and a missing path are tool errors", async () => {
  const { tools } = makeTools();
  const ctx = toolContext(box.root);
  const bad = await tools.grep.run({ pattern: "(" }, ctx);
  expect(bad.isError).toBe(true);
  expect(bad.output).toStartWith("invalid regular expression");
  expect(await tools.grep.run({ pattern: "a", path: "nope" }, ctx)).toEqual({
    output: "nope: no such file or directory",
    isError: true,
  });
});

test("does not follow symlinks out of the workspace, and refuses them as a path", async () => {
  writeFileSync(join(box.outside, "secret.txt"), "alpha secret\n");
  symlinkSync(box.outside, join(box.root, "out"));
  symlinkSync(join(box.outside, "secret.txt"), join(box.root, "secret-link.txt"));
  const { tools } = makeTools();
  const ctx = toolContext(box.root);
  const walked = await tools.grep.run({ pattern: "secret" }, ctx);
  expect(walked.output).toStartWith("no matches");
  for (const path of ["out", "secret-link.txt", "../outside", box.outside]) {
    const result = await tools.grep.run({ pattern: "secret", path }, ctx);
    expect(result.isError).toBe(true);
    expect(result.output).toStartWith(`refused path "${path}"`);
  }
});

test("a file larger than the per-file limit is searched in its start, and that is stated", async () => {
  const big = Buffer.alloc(grepMaxFileBytes + 100, "a\n");
  big.write("tail-needle", grepMaxFileBytes + 10);
  writeFileSync(join(box.root, "big.txt"), Buffer.concat([Buffer.from("head-needle\n"), big]));
  const { tools } = makeTools();
  const result = await tools.grep.run({ pattern: "needle", path: "big.txt" }, toolContext(box.root));
  expect(result.output).toBe(
    `big.txt:1: head-needle\n[1 files larger than ${grepMaxFileBytes} bytes were searched only in their first ${grepMaxFileBytes} bytes]`,
  );
});

test("a catastrophically backtracking pattern is stopped at grepTimeoutMs with a clear error", async () => {
  writeFileSync(
    join(box.root, "evil.txt"),
    `${Array.from({ length: 20 }, () => `${"a".repeat(40)}!`).join("\n")}\n`,
  );
  const { tools } = makeTools({ grepTimeoutMs: 300 });
  const result = await tools.grep.run({ pattern: "^(a+)+$", path: "evil.txt" }, toolContext(box.root));
  expect(result.isError).toBe(true);
  expect(result.output).toContain("longer than its time limit of 300 ms");
});

test("cancel ends a runaway grep with a cancelled error", async () => {
  writeFileSync(join(box.root, "evil.txt"), `${"a".repeat(40)}!\n`);
  const { tools } = makeTools({ grepTimeoutMs: 60_000 });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 200);
  const result = await tools.grep.run(
    { pattern: "^(a+)+$", path: "evil.txt" },
    toolContext(box.root, { signal: controller.signal }),
  );
  expect(result).toEqual({ output: "grep was cancelled", isError: true });
});
