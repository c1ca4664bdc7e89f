/**
 * What this checkout offers to extensions that live outside it: the `@dispatch/*` packages with their
 * public entries (each package.json's `exports`, nothing else), and the third-party modules an
 * extension shares with the host so that it uses the very copies the host runs.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { DispatchError } from "@dispatch/kernel";

/** The checkout this host-bin belongs to. */
export const repoRoot = resolve(import.meta.dir, "../../..");

/** One `@dispatch/*` package of the checkout. */
export interface HostPackage {
  /** `@dispatch/kernel` */
  name: string;
  dir: string;
  /** Importable specifier (`@dispatch/kernel/testing`) → the file it loads. */
  entries: Map<string, string>;
}

/**
 * Modules an outside extension takes from the host rather than installing its own: `hono` and `zod`
 * because the host's services take and return their objects (a second copy would be a different
 * type), `drizzle-orm` for extension-owned tables, `@types/bun` and `typescript` for type-checking.
 */
export const sharedModules = ["hono", "zod", "drizzle-orm", "@types/bun", "typescript"] as const;

/** Every `@dispatch/*` package under `<root>/packages`, sorted by name. */
export function hostPackages(root: string = repoRoot): HostPackage[] {
  const packagesDir = join(root, "packages");
  const found: HostPackage[] = [];
  for (const entry of readdirSync(packagesDir, { withFileTypes: true })) {
    const manifestPath = join(packagesDir, entry.name, "package.json");
    if (!entry.isDirectory() || !existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { name?: unknown; exports?: unknown };
    if (typeof manifest.name !== "string" || !manifest.name.startsWith("@dispatch/")) continue;
    const dir = join(packagesDir, entry.name);
    found.push({ name: manifest.name, dir, entries: entriesOf(manifest.name, dir, manifest.exports) });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** Reads an `exports` field: a string, or a map of subpaths to strings or condition objects. */
function entriesOf(name: string, dir: string, exports: unknown): Map<string, string> {
  const entries = new Map<string, string>();
  if (typeof exports === "string") {
    entries.set(name, join(dir, exports));
    return entries;
  }
  if (typeof exports !== "object" || exports === null) return entries;
  for (const [subpath, target] of Object.entries(exports)) {
    const file = typeof target === "string" ? target : conditionTarget(target);
    if (file === undefined || subpath.includes("*")) continue;
    entries.set(subpath === "." ? name : `${name}/${subpath.replace(/^\.\//, "")}`, join(dir, file));
  }
  return entries;
}

/** The target Bun picks from a condition object (`bun`, then `import`, then `default`). */
function conditionTarget(target: unknown): string | undefined {
  if (typeof target !== "object" || target === null) return undefined;
  const conditions = target as Record<string, unknown>;
  for (const key of ["bun", "import", "default"]) {
    if (typeof conditions[key] === "string") return conditions[key];
  }
  return undefined;
}

/**
 * Where the checkout's installed copy of a shared module lives (its real directory). Looked up in the
 * root's node_modules, then in each package's: the install is isolated, so a dependency sits beside the
 * package that declares it.
 */
export function sharedModuleDir(name: string, root: string = repoRoot): string {
  const candidates = [root, ...hostPackages(root).map((p) => p.dir)].map((dir) =>
    join(dir, "node_modules", name),
  );
  const found = candidates.find((candidate) => existsSync(join(candidate, "package.json")));
  if (found === undefined) {
    throw new DispatchError(
      "host_not_installed",
      `${name} is not installed in ${root}; run ${join(root, "bin/dispatch")} --version once so it installs its dependencies`,
    );
  }
  return realpathSync(found);
}
