/**
 * Makes a folder outside the checkout resolve `@dispatch/*` (and the shared modules) the way a
 * package inside it does: symlinks in the folder's node_modules. Bun and tsc both follow them, honour
 * each package's `exports`, and load the real files, so the extension and the host share one copy of
 * every module. (Bun 1.4.5's runtime plugins cannot do this: `onResolve` never fires for bare
 * specifiers, oven-sh/bun#40579; see notes/decisions.md.)
 */
import { lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { hostPackages, repoRoot, sharedModuleDir, sharedModules } from "./host-packages.ts";

/** What `linkExtension` did. */
export interface LinkReport {
  /** Links made or pointed at this checkout. */
  linked: string[];
  /** Paths left alone because the author installed a real copy there. */
  kept: string[];
}

/**
 * Links every `@dispatch/*` package of the checkout, the shared modules and `node_modules/.bin/tsc`
 * into `<dir>/node_modules`. Idempotent; relinks what points elsewhere (a moved checkout) and never
 * replaces a real file or directory.
 */
export function linkExtension(dir: string, root: string = repoRoot): LinkReport {
  const report: LinkReport = { linked: [], kept: [] };
  const modules = join(dir, "node_modules");
  const packages = hostPackages(root);
  for (const pkg of packages) link(join(modules, pkg.name), pkg.dir, report);
  for (const name of sharedModules) link(join(modules, name), sharedModuleDir(name, root), report);
  link(join(modules, ".bin", "tsc"), join(sharedModuleDir("typescript", root), "bin", "tsc"), report);
  pruneStale(join(modules, "@dispatch"), new Set(packages.map((p) => p.name.slice("@dispatch/".length))));
  return report;
}

function link(path: string, target: string, report: LinkReport): void {
  const existing = lstatOrUndefined(path);
  if (existing !== undefined && !existing.isSymbolicLink()) {
    report.kept.push(path);
    return;
  }
  if (existing !== undefined) {
    if (readlinkSync(path) === target) {
      report.linked.push(path);
      return;
    }
    rmSync(path);
  }
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(target, path);
  report.linked.push(path);
}

/** Drops links to packages the checkout no longer has, so a stale import fails instead of loading. */
function pruneStale(scopeDir: string, current: ReadonlySet<string>): void {
  let names: string[];
  try {
    names = readdirSync(scopeDir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(scopeDir, name);
    if (!current.has(name) && lstatSync(path).isSymbolicLink() && !targetExists(path)) rmSync(path);
  }
}

function targetExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
