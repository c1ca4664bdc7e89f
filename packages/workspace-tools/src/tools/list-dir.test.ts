import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeSandbox, makeTools, type Sandbox, toolContext } from "../../test/fixtures.ts";
import { listDirMaxEntries } from "./list-dir.ts";

let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.cleanup());

test("lists entries sorted, directories with / and symlinks with @", async () => {
  mkdirSync(join(box.root, "src"));
  writeFileSync(join(box.root, "b.txt"), "");
  writeFileSync(join(box.root, "A.md"), "");
  writeFileSync(join(box.root, "src", "x.ts"), "");
  symlinkSync("b.txt", join(box.root, "link"));
  const { tools } = makeTools();
  const ctx = toolContext(box.root);
  expect(await tools.listDir.run({}, ctx)).toEqual({ output: "A.md\nb.txt\nlink@\nsrc/" });
  expect(await tools.listDir.run({ path: "src" }, ctx)).toEqual({ output: "x.ts" });
});

test("empty, missing, a file, and a root that does not exist yet", async () => {
  mkdirSync(join(box.root, "empty"));
  writeFileSync(join(box.root, "f"), "");
  const { tools } = makeTools();
  const ctx = toolContext(box.root);
  expect(await tools.listDir.run({ path: "empty" }, ctx)).toEqual({ output: "(empty is empty)" });
  expect(await tools.listDir.run({ path: "nope" }, ctx)).toEqual({
    output: "nope: no such directory",
    isError: true,
  });
  expect(await tools.listDir.run({ path: "f" }, ctx)).toEqual({
    output: "f is not a directory",
    isError: true,
  });
  const fresh = await tools.listDir.run({}, toolContext(join(box.dir, "not-made")));
  expect(fresh.isError).toBe(true);
  expect(fresh.output).toContain("does not exist yet");
});

test("caps the number of entries and says how many were left out", async () => {
  const dir = join(box.root, "many");
  mkdirSync(dir);
  for (let i = 0; i < listDirMaxEntries + 5; i++)
    writeFileSync(join(dir, `f${String(i).padStart(5, "0")}`), "");
  const { tools } = makeTools();
  const result = await tools.listDir.run({ path: "many" }, toolContext(box.root));
  expect(result.output.split("\n")).toHaveLength(listDirMaxEntries + 1);
  expect(result.output).toEndWith(`[truncated: 5 more entries of ${listDirMaxEntries + 5} not shown]`);
});

test("the byte cap applies too", async () => {
  const dir = join(box.root, "long");
  mkdirSync(dir);
  for (let i = 0; i < 50; i++) writeFileSync(join(dir, `${"n".repeat(100)}${i}`), "");
  const { tools } = makeTools({ maxOutputBytes: 1024 });
  const result = await tools.listDir.run({ path: "long" }, toolContext(box.root));
  expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(1024);
  expect(result.output).toMatch(/\[truncated: showed \d+ of \d+ bytes\]$/);
});

test("refuses escapes and symlinked directories that lead out", async () => {
  symlinkSync(box.outside, join(box.root, "out"));
  const { tools } = makeTools();
  const ctx = toolContext(box.root);
  for (const path of ["..", "/", "out"]) {
    const result = await tools.listDir.run({ path }, ctx);
    expect(result.isError).toBe(true);
    expect(result.output).toStartWith(`refused path "${path}"`);
  }
});
