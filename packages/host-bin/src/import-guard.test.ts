import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostPackages, repoRoot } from "./host-packages.ts";
import { checkImports } from "./import-guard.ts";
import { linkExtension } from "./link-extension.ts";

const packages = hostPackages();
const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});
/** An extension folder outside the repo with a package.json; linked unless told otherwise. */
function extension(link = true): string {
  const dir = mkdtempSync(join(tmpdir(), "dispatch-guard-"));
  made.push(dir);
  writeFileSync(join(dir, "package.json"), "{}");
  mkdirSync(join(dir, "src"));
  if (link) linkExtension(dir);
  return dir;
}

test("public entries of a linked folder pass; other imports are not its business", () => {
  const file = join(extension(), "src/index.ts");
  expect(
    checkImports(
      file,
      ["@dispatch/kernel", "@dispatch/kernel/testing", "@dispatch/wire", "hono", "./x.ts"],
      packages,
    ),
  ).toEqual([]);
});

test("a private path names the package's public entries", () => {
  const file = join(extension(), "src/index.ts");
  expect(checkImports(file, ["@dispatch/conversation-store/src/schema.ts"], packages)).toEqual([
    `${file} imports "@dispatch/conversation-store/src/schema.ts", which is not a public entry of @dispatch/conversation-store; import one of @dispatch/conversation-store, @dispatch/conversation-store/extension, @dispatch/conversation-store/testing`,
  ]);
});

test("an unknown package lists the ones there are", () => {
  const file = join(extension(), "src/index.ts");
  const [problem] = checkImports(file, ["@dispatch/nope"], packages);
  expect(problem).toStartWith(
    `${file} imports "@dispatch/nope", but this Dispatch has no package @dispatch/nope; it has `,
  );
  expect(problem).toContain("@dispatch/kernel, ");
});

test("an unlinked folder is told to link, naming its package root", () => {
  const dir = extension(false);
  const file = join(dir, "src/index.ts");
  expect(checkImports(file, ["@dispatch/kernel"], packages)).toEqual([
    `${file} imports "@dispatch/kernel", which does not resolve from ${dir}: run \`${join(repoRoot, "bin/dispatch")} link ${dir}\` to link this checkout's packages into its node_modules`,
  ]);
});

test("another copy of a package (an install from a registry) is refused", () => {
  const dir = extension(false);
  const foreign = join(dir, "node_modules/@dispatch/kernel");
  mkdirSync(foreign, { recursive: true });
  writeFileSync(join(foreign, "package.json"), '{"name":"@dispatch/kernel","exports":{".":"./index.js"}}');
  writeFileSync(join(foreign, "index.js"), "export {};");
  const [problem] = checkImports(join(dir, "src/index.ts"), ["@dispatch/kernel"], packages);
  expect(problem).toContain(`which resolves to ${join(foreign, "index.js")}, not this host's `);
});
