import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { DispatchError } from "@dispatch/kernel";

/** The dashboard's sources (`web/`) and where the bootstrap writes the bundle (`dist/`). */
export const webDir = resolve(import.meta.dir, "../web");
export const distDir = resolve(import.meta.dir, "../dist");
/** Where the page's scripts and styles are served from. */
export const assetsPath = "/dashboard/assets/";

/** One file of the bundle. */
export interface BuiltFile {
  /** `index.html`, or an asset's hashed name such as `index-d707w65v.js`. */
  readonly name: string;
  readonly type: string;
  readonly bytes: Uint8Array<ArrayBuffer>;
}

/** A built dashboard: its files and the hash of the sources it was built from. */
export interface DashboardBundle {
  readonly sourceHash: string;
  readonly files: readonly BuiltFile[];
}

/** Every source file under `web/`, sorted, so the hash does not depend on directory order. */
function sourceFiles(dir: string = webDir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (!entry.name.endsWith(".test.ts")) out.push(path);
  }
  return out.sort();
}

/**
 * A hash of the sources (names and contents) and of the installed preact's version: what decides
 * whether a bundle on disk is current. Reads ~20 small files (about a millisecond).
 */
export function dashboardSourceHash(): string {
  const hash = createHash("sha256");
  for (const file of sourceFiles()) {
    hash.update(relative(webDir, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  const preact = JSON.parse(
    readFileSync(resolve(import.meta.dir, "../node_modules/preact/package.json"), "utf8"),
  );
  hash.update(`preact@${preact.version}`);
  return hash.digest("hex").slice(0, 16);
}

/**
 * Bundles `web/index.html` and everything it imports with Bun's bundler: minified, hashed asset
 * names under `/dashboard/assets/`, no source maps, nothing fetched from a network (preact comes
 * from node_modules). Throws `dashboard_build_failed` with the bundler's messages.
 */
export async function buildDashboard(): Promise<DashboardBundle> {
  const sourceHash = dashboardSourceHash();
  const result = await Bun.build({
    entrypoints: [join(webDir, "index.html")],
    minify: true,
    target: "browser",
    publicPath: assetsPath,
    naming: { entry: "[name]-[hash].[ext]", chunk: "[name]-[hash].[ext]", asset: "[name]-[hash].[ext]" },
    jsx: { runtime: "automatic", importSource: "preact" },
    define: { "process.env.NODE_ENV": '"production"' },
    throw: false,
  });
  if (!result.success) {
    const messages = result.logs.map((log) => String(log.message ?? log)).join("; ");
    throw new DispatchError("dashboard_build_failed", `building the dashboard failed: ${messages}`);
  }
  const files: BuiltFile[] = [];
  for (const output of result.outputs) {
    const base = output.path.replace(/^\.\//, "");
    const name = output.type.startsWith("text/html") ? "index.html" : base;
    files.push({ name, type: output.type, bytes: new Uint8Array(await output.arrayBuffer()) });
  }
  return { sourceHash, files };
}

/** Writes a bundle to `dir` (replacing what was there), with `build.json` naming its source hash. */
export function writeDashboard(bundle: DashboardBundle, dir: string = distDir): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const file of bundle.files) writeFileSync(join(dir, file.name), file.bytes);
  const manifest = {
    sourceHash: bundle.sourceHash,
    files: bundle.files.map((f) => ({ name: f.name, type: f.type, bytes: f.bytes.byteLength })),
  };
  writeFileSync(join(dir, "build.json"), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** The bundle in `dir` when it was built from the current sources, else undefined. */
export function readDashboard(
  dir: string = distDir,
  sourceHash: string = dashboardSourceHash(),
): DashboardBundle | undefined {
  let manifest: { sourceHash?: unknown; files?: Array<{ name: string; type: string }> };
  try {
    manifest = JSON.parse(readFileSync(join(dir, "build.json"), "utf8"));
  } catch {
    return undefined;
  }
  if (manifest.sourceHash !== sourceHash || !Array.isArray(manifest.files)) return undefined;
  try {
    const files = manifest.files.map((f) => ({
      name: f.name,
      type: f.type,
      bytes: new Uint8Array(readFileSync(join(dir, f.name))),
    }));
    return { sourceHash, files };
  } catch {
    return undefined;
  }
}
