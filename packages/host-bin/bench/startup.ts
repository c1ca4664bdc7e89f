/**
 * Start-up to healthy and idle memory of `dispatch serve`, against a bare `Bun.serve` answering
 * `/health` measured in the same run (same machine, same moment, same polling).
 *
 *   bun packages/host-bin/bench/startup.ts [runs] [idleMs]
 *
 * Start-up: from spawn to the first 200 from GET /health, polled every 2 ms; each dispatch run gets a
 * fresh data dir (so it includes creating and migrating the database, the worst case).
 * Idle RSS: VmRSS from /proc/<pid>/status after `idleMs` of no requests.
 * Targets (issue 2): start-up under 300 ms, idle RSS under 80 MB.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { median } from "@dispatch/bench-kit";

const runs = Number(process.argv[2] ?? 8);
const idleMs = Number(process.argv[3] ?? 2000);
const mainPath = resolve(import.meta.dir, "../src/main.ts");
const scratch = mkdtempSync(join(tmpdir(), "dispatch-bench-startup-"));
const baselinePath = join(scratch, "bare-serve.ts");
writeFileSync(
  baselinePath,
  `Bun.serve({ hostname: "127.0.0.1", port: Number(process.argv[2]), fetch: () => Response.json({ status: "ok" }) });\n`,
);

interface Sample {
  startupMs: number;
  idleRssMb: number;
}

/** A port nothing listens on right now (the OS picks it; we release it at once). */
function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  const kb = Number(line?.split(/\s+/)[1]);
  if (!Number.isFinite(kb)) throw new Error(`no VmRSS for ${pid}`);
  return kb / 1024;
}

async function measure(command: (port: number, dataDir: string) => string[]): Promise<Sample> {
  const port = freePort();
  const dataDir = mkdtempSync(join(scratch, "data-"));
  const began = performance.now();
  const child = Bun.spawn(command(port, dataDir), {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "ignore",
    env: { ...process.env, DISPATCH_LOG_LEVEL: "warn" },
  });
  try {
    let startupMs: number | undefined;
    while (startupMs === undefined) {
      if (child.exitCode !== null)
        throw new Error(`${command(port, dataDir).join(" ")} exited with ${child.exitCode}`);
      if (performance.now() - began > 15_000) throw new Error("not healthy within 15 s");
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        if (res.status === 200) startupMs = performance.now() - began;
        await res.body?.cancel();
      } catch {
        await Bun.sleep(2);
      }
    }
    await Bun.sleep(idleMs);
    return { startupMs, idleRssMb: rssMb(child.pid) };
  } finally {
    child.kill("SIGTERM");
    await child.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const dispatch = (port: number, dataDir: string) => [
  process.execPath,
  mainPath,
  "serve",
  "--port",
  String(port),
  "--data-dir",
  dataDir,
];
const baseline = (port: number) => [process.execPath, baselinePath, String(port)];

const samples: { dispatch: Sample[]; baseline: Sample[] } = { dispatch: [], baseline: [] };
try {
  // one unmeasured run each, so the first measured run does not pay for a cold file cache
  await measure(dispatch);
  await measure(baseline);
  // interleaved, so a noisy moment on the shared machine hits both sides alike
  for (let i = 0; i < runs; i++) {
    samples.dispatch.push(await measure(dispatch));
    samples.baseline.push(await measure(baseline));
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const row = (name: string, list: Sample[]) => {
  const startup = list.map((s) => s.startupMs);
  const rss = list.map((s) => s.idleRssMb);
  return `${name.padEnd(22)} start-up median ${median(startup).toFixed(0).padStart(4)} ms (min ${Math.min(...startup).toFixed(0)}, max ${Math.max(...startup).toFixed(0)})   idle RSS median ${median(rss).toFixed(1).padStart(5)} MB (min ${Math.min(...rss).toFixed(1)}, max ${Math.max(...rss).toFixed(1)})`;
};
const dStart = median(samples.dispatch.map((s) => s.startupMs));
const bStart = median(samples.baseline.map((s) => s.startupMs));
const dRss = median(samples.dispatch.map((s) => s.idleRssMb));
const bRss = median(samples.baseline.map((s) => s.idleRssMb));
console.log(
  `dispatch serve start-up and idle memory: ${runs} runs each, idle ${idleMs} ms, bun ${Bun.version}`,
);
console.log(row("dispatch serve", samples.dispatch));
console.log(row("bare Bun.serve", samples.baseline));
console.log(
  `ratio dispatch / bare   start-up ${(dStart / bStart).toFixed(2)}x   idle RSS ${(dRss / bRss).toFixed(2)}x`,
);
console.log(
  `targets                 start-up < 300 ms: ${dStart < 300 ? "met" : "MISSED"}   idle RSS < 80 MB: ${dRss < 80 ? "met" : "MISSED"}`,
);
