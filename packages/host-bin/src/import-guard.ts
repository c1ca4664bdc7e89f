/**
 * Checks the `@dispatch/*` imports of every module loaded from outside the checkout's packages, before
 * it runs: only public entries (each package.json's `exports`), resolving to this host's own copy.
 * Resolution itself is the node_modules links' job (link-extension.ts); this guard turns the failures
 * Bun reports as a bare "Cannot find module" into messages that say what to do.
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { DispatchError } from "@dispatch/kernel";
import { type HostPackage, hostPackages, repoRoot } from "./host-packages.ts";

type Loader = "ts" | "tsx" | "js" | "jsx";
const loaders: Record<string, Loader> = { ts: "ts", mts: "ts", tsx: "tsx", js: "js", mjs: "js", jsx: "jsx" };

let installed = false;

/** Installs the guard as a Bun runtime plugin (once per process); `bun test --preload` and serve use it. */
export function installImportGuard(root: string = repoRoot): void {
  if (installed) return;
  installed = true;
  const packages = hostPackages(root);
  const inside = escapeRegExp(join(root, "packages") + sep);
  Bun.plugin({
    name: "dispatch-import-guard",
    setup(build) {
      // onLoad, because onResolve never fires for bare specifiers in Bun 1.4.5 (oven-sh/bun#40579)
      build.onLoad(
        { filter: new RegExp(`^(?!${inside})(?!.*/node_modules/).*\\.(?:m?[jt]s|[jt]sx)$`) },
        (args) => {
          const source = readFileSync(args.path, "utf8");
          const loader = loaders[args.path.slice(args.path.lastIndexOf(".") + 1)] ?? "ts";
          const problems = checkImports(args.path, importsOf(source, loader), packages, root);
          if (problems.length > 0) throw new DispatchError("bad_dispatch_import", problems.join("; "));
          return { contents: source, loader };
        },
      );
    },
  });
}

/**
 * The problems with one module's `@dispatch/*` imports: an unknown package, a private path, or a
 * public entry that does not resolve (unlinked folder) or resolves to another copy.
 */
export function checkImports(
  file: string,
  specifiers: readonly string[],
  packages: readonly HostPackage[],
  root: string = repoRoot,
): string[] {
  const problems: string[] = [];
  const byName = new Map(packages.map((p) => [p.name, p]));
  for (const specifier of new Set(specifiers)) {
    if (!specifier.startsWith("@dispatch/")) continue;
    const name = specifier.split("/").slice(0, 2).join("/");
    const pkg = byName.get(name);
    if (pkg === undefined) {
      problems.push(
        `${file} imports "${specifier}", but this Dispatch has no package ${name}; it has ${packages.map((p) => p.name).join(", ")}`,
      );
      continue;
    }
    const entry = pkg.entries.get(specifier);
    if (entry === undefined) {
      problems.push(
        `${file} imports "${specifier}", which is not a public entry of ${name}; import one of ${[...pkg.entries.keys()].join(", ")}`,
      );
      continue;
    }
    const problem = resolutionProblem(file, specifier, entry, root);
    if (problem !== undefined) problems.push(problem);
  }
  return problems;
}

function resolutionProblem(file: string, specifier: string, entry: string, root: string): string | undefined {
  const folder = packageRootOf(file);
  const relink = `run \`${join(root, "bin", "dispatch")} link ${folder}\` to link this checkout's packages into its node_modules`;
  let resolved: string;
  try {
    resolved = Bun.resolveSync(specifier, dirname(file));
  } catch {
    return `${file} imports "${specifier}", which does not resolve from ${folder}: ${relink}`;
  }
  if (realpathSync(resolved) !== realpathSync(entry)) {
    return `${file} imports "${specifier}", which resolves to ${resolved}, not this host's ${entry}: remove that copy and ${relink}`;
  }
  return undefined;
}

/** Import specifiers Bun will resolve at run time (type-only imports are erased, so not listed). */
function importsOf(source: string, loader: Loader): string[] {
  try {
    return new Bun.Transpiler({ loader }).scanImports(source).map((i) => i.path);
  } catch {
    // a syntax error: let Bun's own loader report it with its position
    return [];
  }
}

/** The nearest directory at or above `file` with a package.json, else the file's own directory. */
function packageRootOf(file: string): string {
  let dir = dirname(file);
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return dirname(file);
    dir = parent;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
