/**
 * Summarises a `.cpuprofile` written by `bun --cpu-prof` by sample counts, not by the time deltas
 * between samples: on a loaded machine a thread that was descheduled gets a huge delta on its next
 * sample, so time-weighted totals mislead. Prints the share of samples per package (where the CPU
 * went) and the top functions by self and by inclusive samples.
 *
 *   bun packages/host-bin/bench/harness/profile-summary.ts FILE.cpuprofile [--from-ms 0] [--top 30]
 *       [--focus SUBSTRING]
 *
 * `--from-ms` skips the samples of the first milliseconds (start-up and warm-up); `--focus` lists the
 * callers of the functions whose name or location contains the substring (inclusive share).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "from-ms": { type: "string", default: "0" },
    top: { type: "string", default: "30" },
    focus: { type: "string" },
  },
});
const file = positionals[0];
if (file === undefined) {
  console.error("usage: profile-summary.ts FILE.cpuprofile [--from-ms N] [--top N] [--focus S]");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const fromUs = Number(values["from-ms"]) * 1000;
const top = Number(values.top);

const byId = new Map<number, Node>();
const parent = new Map<number, number>();
for (const node of profile.nodes) {
  byId.set(node.id, node);
  for (const child of node.children ?? []) parent.set(child, node.id);
}

/** `name (file:line)`, with paths shortened to the package. */
function label(node: Node): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url === "" ? "" : ` ${shortUrl(url)}:${lineNumber + 1}`;
  return `${functionName || "(anonymous)"}${where}`;
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf("node_modules/");
  if (modules >= 0) return url.slice(modules + "node_modules/".length);
  const packages = url.indexOf("/packages/");
  return packages >= 0 ? url.slice(packages + 1) : url;
}

/** The package a frame belongs to: `node_modules/<pkg>`, `packages/<pkg>`, native, or Bun's own. */
function packageOf(node: Node): string {
  const url = node.callFrame.url;
  if (url === "")
    return node.callFrame.functionName.startsWith("(") ? node.callFrame.functionName : "[native]";
  const modules = url.lastIndexOf("node_modules/");
  if (modules >= 0) {
    const rest = url.slice(modules + "node_modules/".length).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const packages = url.indexOf("/packages/");
  if (packages >= 0) return `@dispatch/${url.slice(packages + "/packages/".length).split("/")[0]}`;
  return url.split(":")[0] ?? url;
}

/** The first non-native frame up the stack, so native calls are charged to who made them. */
function ownerOf(id: number): Node {
  let current: number | undefined = id;
  while (current !== undefined) {
    const node = byId.get(current) as Node;
    if (node.callFrame.url !== "") return node;
    current = parent.get(current);
  }
  return byId.get(id) as Node;
}

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const packages = new Map<string, number>();
const focusCallers = new Map<string, number>();
let counted = 0;
let elapsed = 0;
for (let i = 0; i < profile.samples.length; i += 1) {
  elapsed += profile.timeDeltas[i] ?? 0;
  if (elapsed < fromUs) continue;
  const leaf = profile.samples[i] as number;
  const leafNode = byId.get(leaf) as Node;
  if (leafNode.callFrame.functionName === "(idle)" || leafNode.callFrame.functionName === "(program)")
    continue;
  counted += 1;
  self.set(label(leafNode), (self.get(label(leafNode)) ?? 0) + 1);
  const owner = ownerOf(leaf);
  packages.set(packageOf(owner), (packages.get(packageOf(owner)) ?? 0) + 1);
  const seen = new Set<string>();
  let focused = false;
  for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
    const node = byId.get(id) as Node;
    const name = label(node);
    if (values.focus !== undefined && !focused && name.includes(values.focus)) {
      focused = true;
      const caller = parent.get(id);
      const callerName = caller === undefined ? "(root)" : label(byId.get(caller) as Node);
      focusCallers.set(callerName, (focusCallers.get(callerName) ?? 0) + 1);
    }
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
  }
}

const pct = (n: number) => `${((n * 100) / counted).toFixed(1)}%`;
const ranked = (map: Map<string, number>, n: number) =>
  [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);

console.log(`${counted} samples counted (of ${profile.samples.length})`);
console.log("\nby package (native frames charged to their caller):");
for (const [name, n] of ranked(packages, 40)) console.log(`  ${pct(n).padStart(6)}  ${name}`);
console.log("\nself:");
for (const [name, n] of ranked(self, top)) console.log(`  ${pct(n).padStart(6)}  ${name}`);
console.log("\ninclusive:");
for (const [name, n] of ranked(inclusive, top)) console.log(`  ${pct(n).padStart(6)}  ${name}`);
if (values.focus !== undefined) {
  console.log(`\ncallers of *${values.focus}*:`);
  for (const [name, n] of ranked(focusCallers, top)) console.log(`  ${pct(n).padStart(6)}  ${name}`);
}
