/**
 * `dispatch test DIR`: runs an extension folder's tests with the Bun running this host (so `bun` need
 * not be on PATH), after linking the host's packages into it and with the serve-time import guard
 * preloaded. Resolves with `bun test`'s exit code.
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { DispatchError } from "@dispatch/kernel";
import { repoRoot } from "./host-packages.ts";
import { linkExtension } from "./link-extension.ts";

const guardPreload = resolve(import.meta.dir, "import-guard-preload.ts");

/** Runs `bun test` in `dir` with `args` passed on (after `--` on the command line). */
export async function testExtension(
  dir: string,
  args: readonly string[],
  root: string = repoRoot,
): Promise<number> {
  const target = resolve(dir);
  if (!existsSync(target) || !statSync(target).isDirectory()) {
    throw new DispatchError("not_a_directory", `${target} is not a directory; give the extension's folder`);
  }
  // relinked every run, so a checkout that moved, or a folder made by hand, still resolves
  const link = linkExtension(target, root);
  for (const path of link.kept)
    process.stderr.write(`dispatch: kept ${path} (not a link; installed by you)\n`);
  const child = Bun.spawn(
    // --no-install: a missing package is an error, never a download from the registry
    [process.execPath, "test", "--no-install", "--preload", guardPreload, ...args],
    { cwd: target, stdin: "inherit", stdout: "inherit", stderr: "inherit" },
  );
  return await child.exited;
}
