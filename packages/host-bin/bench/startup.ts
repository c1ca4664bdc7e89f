/**
 * Start-up to healthy of `dispatch serve`, against a bare `Bun.serve` answering `/health` measured in
 * the same run (same machine, same moment, same polling). Idle memory is `idle-rss.ts`'s job.
 *
 *   bun packages/host-bin/bench/startup.ts [runs]
 *
 * From spawn to the first 200 from GET /health, polled every 2 ms; each dispatch run gets a fresh
 * data dir (so it includes creating and migrating the database, the worst case).
 * Target (issue 2): start-up under 300 ms.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { median } from "@dispatch/bench-kit";

const runs = Number(process.argv[2] ?? 8);
const mainPath = resolve(import.meta.dir, "../src/main.ts");
const scratch = mkdtempSync(join(tmpdir(), "dispatch-bench-startup-"));
const baselinePath = join(scratch, "bare-serve.ts");
writeFileSync(
  baselinePath,
  `Bun.serve({ hostname: "127.0.0.1", port: Number(process.argv[2]), fetch: () => Response.json({ status: "ok" }) });\n`,
);

/** A port nothing listens on right now (the OS picks it; we release it at once). */
function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}

/** Milliseconds from spawn to the first healthy answer. */
async function measure(command: (port: number, dataDir: string) => string[]): Promise<number> {
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
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`${command(port, dataDir).join(" ")} exited with ${child.exitCode}`);
      if (performance.now() - began > 15_000) throw new Error("not healthy within 15 s");
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        const elapsed = performance.now() - began;
        await res.body?.cancel();
        if (res.status === 200) return elapsed;
      } catch {
        await Bun.sleep(2);
      }
    }
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

const samples: { dispatch: number[]; baseline: number[] } = { dispatch: [], baseline: [] };
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

const row = (name: string, startup: number[]) =>
  `${name.padEnd(22)} start-up median ${median(startup).toFixed(0).padStart(4)} ms (min ${Math.min(...startup).toFixed(0)}, max ${Math.max(...startup).toFixed(0)})`;
const dStart = median(samples.dispatch);
const bStart = median(samples.baseline);
console.log(`dispatch serve start-up: ${runs} runs each, bun ${Bun.version}`);
console.log(row("dispatch serve", samples.dispatch));
console.log(row("bare Bun.serve", samples.baseline));
console.log(`ratio dispatch / bare   ${(dStart / bStart).toFixed(2)}x`);
console.log(`target                  start-up < 300 ms: ${dStart < 300 ? "met" : "MISSED"}`);
