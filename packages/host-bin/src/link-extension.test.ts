import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostPackages, repoRoot, sharedModuleDir } from "./host-packages.ts";
import { linkExtension } from "./link-extension.ts";

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), "dispatch-link-"));
  made.push(dir);
  return dir;
}

test("links every @dispatch package, the shared modules and tsc; a second run changes nothing", () => {
  const dir = folder();
  const first = linkExtension(dir);
  expect(first.kept).toEqual([]);
  for (const pkg of hostPackages()) expect(readlinkSync(join(dir, "node_modules", pkg.name))).toBe(pkg.dir);
  expect(readlinkSync(join(dir, "node_modules/zod"))).toBe(sharedModuleDir("zod"));
  expect(readlinkSync(join(dir, "node_modules/.bin/tsc"))).toBe(
    join(sharedModuleDir("typescript"), "bin/tsc"),
  );
  expect(linkExtension(dir)).toEqual(first);
});

test("relinks links that point elsewhere, drops dangling ones, and keeps what the author installed", () => {
  const dir = folder();
  const modules = join(dir, "node_modules");
  mkdirSync(join(modules, "@dispatch"), { recursive: true });
  // a checkout that moved away, a package it no longer has, and the author's own copy of hono
  symlinkSync("/nowhere/packages/kernel", join(modules, "@dispatch/kernel"));
  symlinkSync("/nowhere/packages/gone", join(modules, "@dispatch/gone"));
  mkdirSync(join(modules, "hono"));
  writeFileSync(join(modules, "hono/package.json"), '{"name":"hono"}');
  const report = linkExtension(dir);
  expect(readlinkSync(join(modules, "@dispatch/kernel"))).toBe(join(repoRoot, "packages/kernel"));
  expect(() => readlinkSync(join(modules, "@dispatch/gone"))).toThrow();
  expect(report.kept).toEqual([join(modules, "hono")]);
});
