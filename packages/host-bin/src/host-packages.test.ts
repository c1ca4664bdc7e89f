import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { hostPackages, repoRoot, sharedModuleDir, sharedModules } from "./host-packages.ts";

test("each package's public entries are exactly its package.json exports", () => {
  const packages = hostPackages();
  const kernel = packages.find((p) => p.name === "@dispatch/kernel");
  expect(kernel?.dir).toBe(join(repoRoot, "packages/kernel"));
  expect([...(kernel?.entries ?? [])]).toEqual([
    ["@dispatch/kernel", join(repoRoot, "packages/kernel/src/index.ts")],
    ["@dispatch/kernel/testing", join(repoRoot, "packages/kernel/src/testing.ts")],
  ]);
  for (const pkg of packages) {
    const { exports } = JSON.parse(readFileSync(join(pkg.dir, "package.json"), "utf8")) as {
      exports: Record<string, string>;
    };
    expect(pkg.entries.size).toBe(Object.keys(exports).length);
    for (const file of pkg.entries.values()) expect(existsSync(file)).toBe(true);
  }
});

test("every shared module is installed in the checkout", () => {
  for (const name of sharedModules) {
    const dir = sharedModuleDir(name);
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name: string };
    expect(manifest.name).toBe(name);
  }
});
