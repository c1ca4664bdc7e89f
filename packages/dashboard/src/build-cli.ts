/**
 * `bun packages/dashboard/src/build-cli.ts [--force]`: builds the dashboard into `dist/` unless the
 * bundle there is current. bin/lib/bootstrap.sh runs it, so `bin/dispatch` and `bin/test` always
 * serve a current bundle without building at start-up.
 */
import { buildDashboard, dashboardSourceHash, distDir, readDashboard, writeDashboard } from "./build.ts";

const force = process.argv.includes("--force");
if (!force && readDashboard(distDir, dashboardSourceHash()) !== undefined) process.exit(0);
const began = performance.now();
const bundle = await buildDashboard();
writeDashboard(bundle);
const bytes = bundle.files.reduce((sum, f) => sum + f.bytes.byteLength, 0);
console.error(
  `dispatch: built the dashboard into packages/dashboard/dist (${bundle.files.length} files, ${(bytes / 1024).toFixed(1)} KiB) in ${Math.round(performance.now() - began)} ms`,
);
