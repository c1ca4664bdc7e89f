/**
 * One capture tick over 50 agent sessions whose panes have not changed, against 50 bare
 * `tmux capture-pane -p` calls (one child process each, as a per-session poller would make), on the
 * same tmux server in the same run. Target: the tick costs at most 1.2 × the bare calls.
 *
 *   bun packages/cli-agents/bench/capture-tick.ts [rounds] [perRound]
 *
 * Modes are interleaved round by round so machine noise hits them alike; each figure is the median
 * of every sample of that mode. The bare calls run one after another (what a loop over sessions
 * does) and, as a second baseline, all at once; the tick's own tmux call is timed alone too, to
 * show what the tick adds to it.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { median } from "@dispatch/bench-kit";
import { createLogger } from "@dispatch/kernel";
import { type CliAgentsSettings, cliAgentsConfigSchema } from "../src/config.ts";
import { agentEnvironment } from "../src/extension.ts";
import { AgentSupervisor } from "../src/supervisor.ts";
import { TmuxClient } from "../src/tmux-client.ts";
import { localTmux } from "../src/tmux-transport.ts";

const rounds = Number(process.argv[2] ?? 7);
const perRound = Number(process.argv[3] ?? 10);
const sessions = 50;

const dir = mkdtempSync(join(tmpdir(), "cli-agents-bench-"));
const socketPath = join(dir, "bench.sock");
const env = agentEnvironment();
const tmux = new TmuxClient(localTmux({ program: "tmux", socketPath, env }));
const settings: CliAgentsSettings = cliAgentsConfigSchema.parse({
  captureIntervalMs: 1000,
  agents: [
    {
      id: "still",
      // prints a screenful, then never changes: the unchanged-pane case the tick is built for
      command: [
        "bash",
        "--norc",
        "-c",
        "for i in $(seq 1 40); do echo line $i of a quiet agent; done; exec sleep 3600",
      ],
      cols: 120,
      rows: 40,
    },
  ],
});
const agent = settings.agents[0];
if (agent === undefined) throw new Error("no agent");
let ticks = 0;
const supervisor = new AgentSupervisor({
  settings,
  tmuxFor: () => tmux,
  logger: createLogger({ level: "error" }),
  counters: { crashed() {}, respawned() {}, captureTick: () => ticks++ },
  // the bench drives the ticks itself
  schedule: () => () => {},
  onFault: (kind, error) => {
    throw new Error(`${kind}: ${String(error)}`);
  },
});

try {
  const names: string[] = [];
  for (let i = 0; i < sessions; i++) {
    const session = await supervisor.attach(`c_bench-${i}`, "default", null, agent);
    await supervisor.spawn(session, dir);
    await supervisor.end(session, "keep");
    names.push(session.name);
  }
  // wait until every pane shows its last line, then one tick to learn the hashes
  for (;;) {
    const { captures } = await tmux.captureMany(names);
    if (captures.length === sessions && captures.every((c) => c.text.includes("line 40 of"))) break;
    await Bun.sleep(50);
  }
  await supervisor.captureTick();
  const changedBefore = [...supervisor.table.values()].map((s) => s.screenVersion).join();

  const bare = async () => {
    for (const name of names) {
      const child = Bun.spawn(["tmux", "-S", socketPath, "capture-pane", "-p", "-t", `=${name}:`], {
        stdout: "pipe",
        stderr: "pipe",
        env,
      });
      await Promise.all([new Response(child.stdout).text(), child.exited]);
    }
  };
  const bareParallel = async () => {
    await Promise.all(
      names.map(async (name) => {
        const child = Bun.spawn(["tmux", "-S", socketPath, "capture-pane", "-p", "-t", `=${name}:`], {
          stdout: "pipe",
          stderr: "pipe",
          env,
        });
        await Promise.all([new Response(child.stdout).text(), child.exited]);
      }),
    );
  };
  const tick = () => supervisor.captureTick();
  // the tick's one tmux call alone: what the tick adds on top of it is parsing, hashing, the idle rule
  const oneCall = async () => {
    await tmux.captureMany(names);
  };
  const modes: Record<string, () => Promise<void>> = { tick, oneCall, bare, bareParallel };
  const samples: Record<string, number[]> = { tick: [], oneCall: [], bare: [], bareParallel: [] };
  for (let round = 0; round < rounds; round++) {
    for (const [mode, run] of Object.entries(modes)) {
      for (let i = 0; i < perRound; i++) {
        const began = performance.now();
        await run();
        samples[mode]?.push(performance.now() - began);
      }
    }
  }
  const changedAfter = [...supervisor.table.values()].map((s) => s.screenVersion).join();
  if (changedAfter !== changedBefore)
    throw new Error("a pane changed during the bench: the figures are not of unchanged panes");

  const ms = (mode: string) => median(samples[mode] ?? []);
  const ratio = ms("tick") / ms("bare");
  console.log(`capture tick over ${sessions} unchanged panes, ${rounds} rounds × ${perRound}, medians:`);
  console.log(`  tick (one tmux call, hash compare):   ${ms("tick").toFixed(2)} ms`);
  console.log(`  the tick's tmux call alone:           ${ms("oneCall").toFixed(2)} ms`);
  console.log(`  ${sessions} bare capture-pane, in turn:    ${ms("bare").toFixed(2)} ms`);
  console.log(`  ${sessions} bare capture-pane, at once:    ${ms("bareParallel").toFixed(2)} ms`);
  console.log(
    `  tick / bare in turn = ${ratio.toFixed(3)} (target <= 1.2): ${ratio <= 1.2 ? "met" : "NOT met"}`,
  );
  console.log(`  tick / bare at once = ${(ms("tick") / ms("bareParallel")).toFixed(3)}`);
  console.log(`  tick / its tmux call = ${(ms("tick") / ms("oneCall")).toFixed(3)}`);
  if (ticks === 0) throw new Error("no tick ran");
} finally {
  await supervisor.dispose();
  await tmux.transport.run(["kill-server"]);
  rmSync(dir, { recursive: true, force: true });
}
