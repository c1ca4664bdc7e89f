/**
 * Idle RSS drill (issue 10): `bin/dispatch serve` with no config file (the embedded default, every
 * built-in extension) against a bare `Bun.serve` hello-world measured in the same run. Target: idle
 * RSS under 80 MB, read as 80 MiB (83.9 million bytes, as host-bin's startup bench reads it); the
 * figure in decimal megabytes is printed beside it.
 *
 *   bun packages/host-bin/bench/idle-rss.ts [--runs 3] [--idle-ms 5000] [--direct] [--limit-mib 80]
 *
 * Each run: a fresh data dir and a free loopback port; wait for `GET /health` 200 and check that every
 * built-in extension is `active`; stay idle `--idle-ms`; read VmRSS (and its anon/file split) from
 * `/proc/<pid>/status`; SIGTERM and require exit 0 within 15 s. `bin/dispatch` execs Bun, so the pid
 * is the server's; `--direct` runs `bun packages/host-bin/src/main.ts serve` instead (no bootstrap).
 * The figures are the medians over the runs; dispatch and the baseline alternate.
 *
 * Exit status: 0 ok, 1 a check failed (not healthy, an extension not active, unclean exit), 3 over 80 MiB.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { median } from "@dispatch/bench-kit";
import { builtinExtensions } from "../src/index.ts";
import { mib, procStatus } from "./harness/settled-memory.ts";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    "idle-ms": { type: "string", default: "5000" },
    direct: { type: "boolean", default: false },
    "limit-mib": { type: "string", default: "80" },
  },
});
const runs = Number(args.runs);
const idleMs = Number(args["idle-ms"]);
const limitMib = Number(args["limit-mib"]);
const repoRoot = resolve(import.meta.dir, "../../..");
const scratch = mkdtempSync(join(tmpdir(), "dispatch-drill-idle-"));
const barePath = join(scratch, "bare-serve.ts");
writeFileSync(
  barePath,
  `Bun.serve({ hostname: "127.0.0.1", port: Number(process.argv[2]), fetch: () => new Response("hello") });\n`,
);
const expectedIds = builtinExtensions().map((e) => e.manifest.id);

interface Sample {
  rss: number;
  anon: number;
  file: number;
  exitCode: number | null;
}

/** A port nothing listens on right now (the OS picks it; we release it at once). */
function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}

/** Polls `/health` until 200; returns its JSON. */
async function healthy(child: Bun.Subprocess, port: number): Promise<unknown> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before it was healthy`);
    if (Date.now() > deadline) throw new Error("not healthy within 30 s");
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.status === 200) return await res.json().catch(() => ({}));
      await res.body?.cancel();
    } catch {
      // not listening yet
    }
    await Bun.sleep(20);
  }
}

const problems: string[] = [];
/** The server being measured, so an interrupted drill does not leave it running. */
let running: Bun.Subprocess | undefined;
const onSignal = (signal: NodeJS.Signals) => {
  process.stderr.write(`drill interrupted by ${signal}; cleaning up\n`);
  running?.kill("SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
  process.exit(130);
};
process.once("SIGINT", onSignal);
process.once("SIGTERM", onSignal);

async function measure(kind: "dispatch" | "bare", run: number): Promise<Sample> {
  const port = freePort();
  const dataDir = mkdtempSync(join(scratch, `${kind}-data-`));
  const logFile = join(scratch, `${kind}-${run}.log`);
  const env: Record<string, string | undefined> = { ...process.env, DISPATCH_LOG_LEVEL: "info" };
  delete env.DISPATCH_CONFIG; // the embedded default is what we measure
  delete env.DISPATCH_DATA_DIR;
  const command =
    kind === "bare"
      ? [process.execPath, barePath, String(port)]
      : args.direct
        ? [
            process.execPath,
            join(repoRoot, "packages/host-bin/src/main.ts"),
            "serve",
            "--data-dir",
            dataDir,
            "--port",
            String(port),
          ]
        : [join(repoRoot, "bin/dispatch"), "serve", "--data-dir", dataDir, "--port", String(port)];
  const child = Bun.spawn(command, {
    cwd: scratch,
    env,
    stdin: "ignore",
    stdout: Bun.file(logFile),
    stderr: Bun.file(logFile),
  });
  running = child;
  let exitCode: number | null = null;
  try {
    const health = (await healthy(child, port)) as { extensions?: Array<{ id: string; state: string }> };
    if (kind === "dispatch") {
      const states = new Map((health.extensions ?? []).map((e) => [e.id, e.state]));
      for (const id of expectedIds) {
        if (states.get(id) !== "active")
          problems.push(`run ${run}: extension ${id} is ${states.get(id) ?? "missing"}`);
      }
    }
    await Bun.sleep(idleMs);
    const status = procStatus(child.pid);
    const sample = { rss: status.VmRSS ?? 0, anon: status.RssAnon ?? 0, file: status.RssFile ?? 0 };
    child.kill("SIGTERM");
    const exited = await Promise.race([child.exited, Bun.sleep(15_000).then(() => "timeout" as const)]);
    if (exited === "timeout") {
      problems.push(`run ${run}: ${kind} did not exit within 15 s of SIGTERM`);
      child.kill("SIGKILL");
      await child.exited;
    } else exitCode = exited;
    if (kind === "dispatch" && exitCode !== 0)
      problems.push(`run ${run}: dispatch exited with ${exitCode} after SIGTERM`);
    return { ...sample, exitCode };
  } catch (error) {
    problems.push(`run ${run}: ${kind}: ${error instanceof Error ? error.message : String(error)}`);
    console.error(readFileSync(logFile, "utf8").slice(-2000));
    return { rss: Number.NaN, anon: Number.NaN, file: Number.NaN, exitCode: null };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await child.exited;
    }
    running = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

let exitCode = 0;
try {
  const command = args.direct ? "bun packages/host-bin/src/main.ts serve" : "bin/dispatch serve";
  console.log(
    `${command} (embedded default config: ${expectedIds.join(", ")}) vs bare Bun.serve; idle ${idleMs} ms, ${runs} runs`,
  );
  const dispatch: Sample[] = [];
  const bare: Sample[] = [];
  for (let run = 1; run <= runs; run += 1) {
    const d = await measure("dispatch", run);
    const b = await measure("bare", run);
    dispatch.push(d);
    bare.push(b);
    console.log(
      `run ${run}: dispatch ${mib(d.rss)} MiB (anon ${mib(d.anon)}, file ${mib(d.file)}), exit ${d.exitCode}; ` +
        `bare ${mib(b.rss)} MiB (anon ${mib(b.anon)}, file ${mib(b.file)})`,
    );
  }
  const d = median(dispatch.map((s) => s.rss));
  const b = median(bare.map((s) => s.rss));
  console.log(
    `median idle RSS: dispatch ${mib(d)} MiB, bare Bun.serve ${mib(b)} MiB, ratio ${(d / b).toFixed(2)}, difference ${mib(d - b)} MiB ` +
      `(dispatch = ${(d / 1e6).toFixed(1)} MB decimal)`,
  );
  const met = d < limitMib * 1024 * 1024;
  console.log(met ? `target met: under ${limitMib} MiB` : `target MISSED: ${limitMib} MiB or more`);
  for (const problem of problems) console.log(`problem: ${problem}`);
  console.log(
    `DRILL_RESULT ${JSON.stringify({ drill: "idle-rss", runs, idleMs, dispatchRss: d, bareRss: b, ratio: d / b, problems, samples: { dispatch, bare } })}`,
  );
  if (problems.length > 0 || !Number.isFinite(d)) exitCode = 1;
  else if (!met) exitCode = 3;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(exitCode);
