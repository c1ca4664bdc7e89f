import { afterEach, beforeEach, expect, test } from "bun:test";
import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeSandbox, makeTools, type Sandbox, toolContext } from "../../test/fixtures.ts";

let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.cleanup());

const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join("\n");

test("reads the whole file by default", async () => {
  writeFileSync(join(box.root, "a.txt"), "one\ntwo\n");
  const { tools } = makeTools();
  expect(await tools.readFile.run({ path: "a.txt" }, toolContext(box.root))).toEqual({ output: "one\ntwo" });
});

test("offset and limit select lines and say where to continue", async () => {
  writeFileSync(join(box.root, "a.txt"), `${lines(10)}\n`);
  const { tools } = makeTools();
  const result = await tools.readFile.run({ path: "a.txt", offset: 3, limit: 2 }, toolContext(box.root));
  expect(result.isError).toBeUndefined();
  expect(result.output).toBe("line 3\nline 4\n[showed lines 3-4 of 10; continue with offset=5]");
  const tail = await tools.readFile.run({ path: "a.txt", offset: 9 }, toolContext(box.root));
  expect(tail.output).toBe("line 9\nline 10");
});

test("an offset past the end is an error naming the line count", async () => {
  writeFileSync(join(box.root, "a.txt"), lines(3));
  const { tools } = makeTools();
  const result = await tools.readFile.run({ path: "a.txt", offset: 7 }, toolContext(box.root));
  expect(result).toEqual({ output: "a.txt has 3 lines; offset 7 is past the end", isError: true });
});

test("output is capped at maxOutputBytes with a note on where to continue", async () => {
  writeFileSync(join(box.root, "big.txt"), lines(2000));
  const { tools } = makeTools({ maxOutputBytes: 1024 });
  const result = await tools.readFile.run({ path: "big.txt" }, toolContext(box.root));
  expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(1024);
  expect(result.output).toMatch(
    /\[truncated: showed lines 1-\d+ of 2000 \(output limit\); continue with offset=\d+\]$/,
  );
});

test("one huge line is shown in part, and the cut is stated", async () => {
  writeFileSync(join(box.root, "wide.txt"), `${"x".repeat(5000)}\nnext`);
  const { tools } = makeTools({ maxOutputBytes: 1024 });
  const result = await tools.readFile.run({ path: "wide.txt" }, toolContext(box.root));
  expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(1024);
  expect(result.output).toContain("[truncated: line 1 is longer than");
  expect(result.output).toContain("continue with offset=2");
});

test("missing files, directories, binary and empty files", async () => {
  const { tools } = makeTools();
  const ctx = toolContext(box.root);
  expect(await tools.readFile.run({ path: "nope.txt" }, ctx)).toEqual({
    output: "nope.txt: no such file",
    isError: true,
  });
  expect((await tools.readFile.run({ path: "." }, ctx)).output).toContain("is a directory");
  writeFileSync(join(box.root, "bin"), Buffer.from([1, 2, 0, 3]));
  expect((await tools.readFile.run({ path: "bin" }, ctx)).output).toBe(
    "bin is a binary file (4 bytes); not shown",
  );
  writeFileSync(join(box.root, "empty"), "");
  expect(await tools.readFile.run({ path: "empty" }, ctx)).toEqual({ output: "(empty is empty)" });
});

test("refuses ../ escapes, absolute paths outside and symlinks that lead out", async () => {
  writeFileSync(join(box.outside, "secret.txt"), "secret");
  symlinkSync(join(box.outside, "secret.txt"), join(box.root, "link.txt"));
  const { tools } = makeTools();
  const ctx = toolContext(box.root);
  for (const path of ["../outside/secret.txt", join(box.outside, "secret.txt"), "link.txt"]) {
    const result = await tools.readFile.run({ path }, ctx);
    expect(result.isError).toBe(true);
    expect(result.output).toStartWith(`refused path "${path}"`);
    expect(result.output).not.toContain("secret\n");
  }
});

test("decomposed é reads the file written with composed é", async () => {
  writeFileSync(join(box.root, "caf\u00e9.txt"), "crème");
  const { tools } = makeTools();
  const result = await tools.readFile.run({ path: "cafe\u0301.txt" }, toolContext(box.root));
  expect(result).toEqual({ output: "crème" });
});

test("an unknown host is a tool error, not a crash", async () => {
  const { tools } = makeTools();
  const result = await tools.readFile.run({ path: "a" }, toolContext(box.root, { hostId: "ghost" }));
  expect(result.isError).toBe(true);
  expect(result.output).toContain('no execution backend for host "ghost"');
});

test("a cancelled turn does not start the tool", async () => {
  const controller = new AbortController();
  controller.abort();
  const { tools } = makeTools();
  const result = await tools.readFile.run(
    { path: "a" },
    toolContext(box.root, { signal: controller.signal }),
  );
  expect(result).toEqual({ output: "read_file was cancelled before it started", isError: true });
});

test("a FIFO is refused instead of blocking", async () => {
  Bun.spawnSync(["mkfifo", join(box.root, "pipe")]);
  const { tools } = makeTools();
  const ctx = toolContext(box.root);
  expect(await tools.readFile.run({ path: "pipe" }, ctx)).toEqual({
    output: "pipe is not a regular file",
    isError: true,
  });
  expect(await tools.writeFile.run({ path: "pipe", content: "x" }, ctx)).toEqual({
    output: "pipe exists and is not a regular file",
    isError: true,
  });
  expect((await tools.grep.run({ pattern: "x" }, ctx)).output).toBe("no matches (scanned 0 files)");
});
