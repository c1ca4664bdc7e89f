/**
 * Cost of the workspace tools' safety against the bare operation, measured in the same run:
 *   confine   confinePath (NFC, lexical check, realpath of root and target) vs one fs.realpath
 *   grep      the grep tool over a generated tree vs `grep -rn` as a subprocess
 *   bash      the bash tool (scrubbed env, own process group, group check at exit) vs Bun.spawn of bash -c
 *
 *   bun packages/workspace-tools/bench/tools.ts [rounds]
 */

import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { realpath } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "@dispatch/bench-kit";
import { createMemoryLogger } from "@dispatch/kernel";
import type { ToolContext } from "@dispatch/session-orchestrator";
import {
  confinePath,
  createExecutionBackends,
  createLocalBackend,
  createWorkspaceTools,
  RootPins,
  TurnFiles,
  toolsConfigSchema,
} from "../src/index.ts";
import { unconfinedSandbox } from "../src/sandbox/sandboxes.ts";
import { MemoryLocks } from "../test/memory-locks.ts";

const rounds = Number(process.argv[2] ?? 5);
const confineCalls = 5000;
const grepFiles = 2000;
const bashCalls = 50;

const dir = realpathSync(mkdtempSync(join(tmpdir(), "dispatch-bench-tools-")));
const root = join(dir, "root");
for (let i = 0; i < grepFiles; i++) {
  const sub = join(root, `d${i % 40}`);
  mkdirSync(sub, { recursive: true });
  const lines = Array.from({ length: 40 }, (_, n) =>
    n === 20 && i % 10 === 0 ? `needle ${i}` : `line ${n} of file ${i}`,
  );
  writeFileSync(join(sub, `f${i}.txt`), `${lines.join("\n")}\n`);
}
mkdirSync(join(root, "a/b/c"), { recursive: true });
writeFileSync(join(root, "a/b/c/file.txt"), "x");

const backend = createLocalBackend();
const tools = createWorkspaceTools({
  backends: createExecutionBackends(backend),
  locks: new MemoryLocks(),
  pins: new RootPins(),
  turnFiles: new TurnFiles(),
  sandbox: unconfinedSandbox,
  config: toolsConfigSchema.parse({ grepMaxMatches: 100000, grepMaxFiles: 100000 }),
});
const now = new Date().toISOString();
const context: ToolContext = {
  workspace: {
    id: "bench",
    name: "bench",
    root,
    hostId: null,
    starred: false,
    network: null,
    permissions: {},
    createdAt: now,
    updatedAt: now,
  },
  conversationId: "c",
  turnId: "t",
  signal: new AbortController().signal,
  logger: createMemoryLogger().logger,
};

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const cases: Record<string, { tool: number[]; base: number[]; unit: string; per: number }> = {
  confine: { tool: [], base: [], unit: "µs/call", per: confineCalls },
  grep: { tool: [], base: [], unit: "ms/search", per: 1 },
  bash: { tool: [], base: [], unit: "ms/call", per: bashCalls },
};

let toolMatches = 0;
let grepMatches = 0;
for (let round = 0; round < rounds; round++) {
  cases.confine?.tool.push(
    await timed(async () => {
      for (let i = 0; i < confineCalls; i++) await confinePath(backend, root, "a/b/c/file.txt");
    }),
  );
  cases.confine?.base.push(
    await timed(async () => {
      for (let i = 0; i < confineCalls; i++) await realpath(join(root, "a/b/c/file.txt"));
    }),
  );
  cases.grep?.tool.push(
    await timed(async () => {
      const result = await tools.grep.run({ pattern: "needle" }, context);
      toolMatches = result.output.split("\n").length;
    }),
  );
  cases.grep?.base.push(
    await timed(async () => {
      const proc = Bun.spawn(["grep", "-rn", "needle", "."], { cwd: root, stdout: "pipe" });
      grepMatches = (await new Response(proc.stdout).text()).trim().split("\n").length;
      await proc.exited;
    }),
  );
  cases.bash?.tool.push(
    await timed(async () => {
      for (let i = 0; i < bashCalls; i++) await tools.bash.run({ command: "true" }, context);
    }),
  );
  cases.bash?.base.push(
    await timed(async () => {
      for (let i = 0; i < bashCalls; i++) await Bun.spawn(["bash", "-c", "true"], { cwd: root }).exited;
    }),
  );
}
if (toolMatches !== grepMatches)
  throw new Error(`grep disagrees: tool ${toolMatches} lines, grep -rn ${grepMatches}`);

console.log(`rounds: ${rounds} (median); grep tree: ${grepFiles} files, ${grepMatches} matches`);
for (const [name, { tool, base, unit, per }] of Object.entries(cases)) {
  const scale = unit.startsWith("µs") ? 1000 : 1;
  const t = (median(tool) / per) * scale;
  const b = (median(base) / per) * scale;
  console.log(
    `${name.padEnd(8)} tool ${t.toFixed(2)} ${unit}   baseline ${b.toFixed(2)} ${unit}   ratio ${(t / b).toFixed(2)}x`,
  );
}
rmSync(dir, { recursive: true, force: true });
