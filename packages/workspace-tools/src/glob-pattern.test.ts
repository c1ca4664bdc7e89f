import { expect, test } from "bun:test";
import { globToRegExp } from "./glob-pattern.ts";

const matches = (glob: string, name: string) => globToRegExp(glob).regex.test(name);

test("* and ? stay within a name; dots are literal", () => {
  expect(matches("*.ts", "a.ts")).toBe(true);
  expect(matches("*.ts", "a.tsx")).toBe(false);
  expect(matches("*.ts", "dir/a.ts")).toBe(false);
  expect(matches("?.md", "a.md")).toBe(true);
  expect(matches("?.md", "ab.md")).toBe(false);
  expect(matches("a.b", "axb")).toBe(false);
});

test("{a,b} alternatives and ** across directories", () => {
  expect(matches("*.{js,ts}", "x.js")).toBe(true);
  expect(matches("*.{js,ts}", "x.py")).toBe(false);
  expect(matches("src/**/*.ts", "src/a/b/c.ts")).toBe(true);
  expect(matches("src/**/*.ts", "src/c.ts")).toBe(true);
  expect(matches("src/**/*.ts", "lib/c.ts")).toBe(false);
  expect(globToRegExp("src/*.ts").matchesPath).toBe(true);
  expect(globToRegExp("*.ts").matchesPath).toBe(false);
});

test("regex metacharacters in a glob are literal", () => {
  expect(matches("a+(b).txt", "a+(b).txt")).toBe(true);
  expect(matches("a+(b).txt", "aa(b).txt")).toBe(false);
});
