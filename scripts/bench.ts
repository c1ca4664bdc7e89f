/**
 * Runs the benchmarks: every `packages/*\/bench/*.ts` in turn, or only those whose path contains one
 * of the words given on the command line (`bun run bench host-bin events`). Each runs in its own
 * process, so one benchmark's heap and timers cannot skew the next. Exits non-zero if any failed.
 */

import { resolve } from "node:path";
import { Glob } from "bun";

const root = resolve(import.meta.dir, "..");
const filters = process.argv.slice(2);
const all = [...new Glob("packages/*/bench/*.ts").scanSync({ cwd: root })].sort();
const chosen = filters.length === 0 ? all : all.filter((path) => filters.some((f) => path.includes(f)));

if (chosen.length === 0) {
  console.error(`no benchmark matches ${filters.join(", ")}; available:\n  ${all.join("\n  ")}`);
  process.exit(2);
}

const failed: string[] = [];
for (const path of chosen) {
  console.log(`\n=== ${path}`);
  const began = performance.now();
  const child = Bun.spawn([process.execPath, resolve(root, path)], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
  });
  const code = await child.exited;
  const seconds = ((performance.now() - began) / 1000).toFixed(1);
  if (code === 0) console.log(`=== ${path}: done in ${seconds} s`);
  else {
    console.log(`=== ${path}: FAILED with exit status ${code} after ${seconds} s`);
    failed.push(path);
  }
}
if (failed.length > 0) {
  console.error(`\n${failed.length} benchmark(s) failed: ${failed.join(", ")}`);
  process.exit(1);
}
