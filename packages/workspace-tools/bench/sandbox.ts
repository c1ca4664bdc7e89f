/**
 * Cost of running `bash "true"` in the sandbox, against the same call unconfined, in the same run
 * (interleaved rounds, medians), and where the time goes: the same `exec` under launchers that add
 * one piece of the sandbox at a time.
 *
 *   bun packages/workspace-tools/bench/sandbox.ts [rounds] [calls per round]
 */

import { mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "@dispatch/bench-kit";
import { createMemoryLogger } from "@dispatch/kernel";
import type { ToolContext } from "@dispatch/session-orchestrator";
import {
  createExecutionBackends,
  createLocalBackend,
  createWorkspaceTools,
  RootPins,
  Sandboxes,
  type ToolSandbox,
  TurnFiles,
  toolsConfigSchema,
  unconfinedSandbox,
} from "../src/index.ts";
import { MemoryLocks } from "../test/memory-locks.ts";

const rounds = Number(process.argv[2] ?? 7);
const calls = Number(process.argv[3] ?? 20);

const dir = realpathSync(mkdtempSync(join(tmpdir(), "dispatch-bench-sandbox-")));
const root = join(dir, "root");
mkdirSync(root);
const backend = createLocalBackend();
const config = toolsConfigSchema.parse({ sandbox: "required" });
const { logger } = createMemoryLogger();
const sandboxes = new Sandboxes({ ...config, hiddenLocally: [join(dir, "data")] }, logger);
const probe = await sandboxes.probe(backend);
if (probe.state !== "ready") throw new Error(`the sandbox is not available here: ${probe.reason}`);

const toolsWith = (sandbox: ToolSandbox) =>
  createWorkspaceTools({
    backends: createExecutionBackends(backend),
    locks: new MemoryLocks(),
    pins: new RootPins(),
    turnFiles: new TurnFiles(),
    sandbox,
    config,
  });
const unconfinedTools = toolsWith(unconfinedSandbox);
const sandboxedTools = toolsWith(sandboxes);
const at = new Date().toISOString();
const context: ToolContext = {
  workspace: {
    id: "bench",
    name: "bench",
    root,
    hostId: null,
    starred: false,
    network: null,
    permissions: {},
    createdAt: at,
    updatedAt: at,
  },
  conversationId: "c",
  turnId: "t",
  signal: new AbortController().signal,
  logger,
};

const full = await sandboxes.prepare(context.workspace, backend, root, root);
const bwrap = probe.facts?.binary ?? "bwrap";
// --die-with-parent and --new-session from the start: without them bwrap's init can outlive bwrap
// in its process group for a moment, and the exec's group check then waits a poll (20 ms) for it,
// which would be charged to whichever step happened to add them.
const base = [
  bwrap,
  "--ro-bind",
  "/",
  "/",
  "--dev",
  "/dev",
  "--proc",
  "/proc",
  "--die-with-parent",
  "--new-session",
];
/** Launchers that add one piece of the sandbox at a time (undefined: no bwrap at all). */
const steps: Array<[string, readonly string[] | undefined]> = [
  ["exec bash -c true, unconfined", undefined],
  ["+ bwrap: mount namespace, ro /, /dev, /proc, own session", base],
  ["+ own PID namespace", [...base, "--unshare-pid"]],
  ["+ own network namespace", [...base, "--unshare-pid", "--unshare-net"]],
  [
    "+ IPC/UTS/cgroup ns, private /tmp, root bind",
    [
      ...base,
      "--tmpfs",
      "/tmp",
      "--bind",
      root,
      root,
      "--unshare-pid",
      "--unshare-net",
      "--unshare-ipc",
      "--unshare-uts",
      "--unshare-cgroup-try",
    ],
  ],
  [
    "+ hidden paths and the prelude (pid_max, ro /proc/sys, ulimit, setpriv): the full launcher",
    full.launcher,
  ],
];

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < calls; i++) await fn();
  return (performance.now() - start) / calls;
}

const tool = { unconfined: [] as number[], sandboxed: [] as number[], prepare: [] as number[] };
const stepTimes = steps.map(() => [] as number[]);
for (let round = 0; round < rounds; round++) {
  tool.unconfined.push(await timed(() => unconfinedTools.bash.run({ command: "true" }, context)));
  tool.sandboxed.push(await timed(() => sandboxedTools.bash.run({ command: "true" }, context)));
  tool.prepare.push(await timed(() => sandboxes.prepare(context.workspace, backend, root, root)));
  for (const [i, [, launcher]] of steps.entries()) {
    stepTimes[i]?.push(
      await timed(async () => {
        const result = await backend.exec("true", {
          cwd: root,
          timeoutMs: 30_000,
          maxOutputBytes: 4096,
          ...(launcher === undefined ? {} : { launcher }),
        });
        if (result.exitCode !== 0) throw new Error(`exit ${result.exitCode}: ${result.stderr}`);
      }),
    );
  }
}

const ms = (values: number[]) => median(values).toFixed(2);
console.log(
  `rounds: ${rounds} × ${calls} calls (medians of the per-round means); load ${(await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ")}`,
);
console.log(`bash "true" through the tool, unconfined: ${ms(tool.unconfined)} ms/call`);
console.log(
  `bash "true" through the tool, sandboxed:  ${ms(tool.sandboxed)} ms/call (${(median(tool.sandboxed) / median(tool.unconfined)).toFixed(2)}×, +${(median(tool.sandboxed) - median(tool.unconfined)).toFixed(2)} ms)`,
);
console.log(`  of which Sandboxes.prepare (hidden-path checks, argv): ${ms(tool.prepare)} ms/call`);
console.log("where the time goes (backend.exec under each launcher):");
let previous = 0;
for (const [i, [name]] of steps.entries()) {
  const value = median(stepTimes[i] ?? []);
  console.log(
    `  ${name.padEnd(72)} ${value.toFixed(2)} ms (${i === 0 ? "base" : `+${(value - previous).toFixed(2)}`})`,
  );
  previous = value;
}
rmSync(dir, { recursive: true, force: true });
