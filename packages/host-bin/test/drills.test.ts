/**
 * Short runs of the memory drills in bench/ (the full runs take minutes and are not for CI). They
 * prove the drills work end to end against the real stack and that their leak checks hold on a few
 * cycles; memory figures are not asserted (no timing or size assertions in tests).
 */
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";

const benchDir = resolve(import.meta.dir, "../bench");

interface DrillRun {
  exitCode: number;
  output: string;
  result: Record<string, unknown>;
}

/** Runs a drill as its own process (bounded) and parses its `DRILL_RESULT` line. */
async function runDrill(script: string, args: string[], timeoutMs = 50_000): Promise<DrillRun> {
  const child = Bun.spawn([process.execPath, resolve(benchDir, script), ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, DISPATCH_CONFIG: undefined },
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const [output, errors, exitCode] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    const line = output.split("\n").find((l) => l.startsWith("DRILL_RESULT "));
    if (line === undefined) throw new Error(`no DRILL_RESULT (exit ${exitCode}):\n${output}\n${errors}`);
    return { exitCode, output, result: JSON.parse(line.slice("DRILL_RESULT ".length)) };
  } finally {
    clearTimeout(timer);
  }
}

describe("memory drills (short runs)", () => {
  test("soak: every turn completes through HTTP and no subscription is left", async () => {
    const { exitCode, result } = await runDrill("soak.ts", [
      "--turns=60",
      "--checkpoint=20",
      "--every=20",
      "--conversations=5",
      "--max-growth=1000",
    ]);
    expect(result.failed).toBe(0);
    expect(result.leftOver).toBe(0);
    expect((result.readings as Array<{ turns: number }>).map((r) => r.turns)).toEqual([0, 20, 40, 60]);
    expect(result.heapUsedAtEnd).toBeGreaterThan(0);
    expect(exitCode).toBe(0);
  }, 60_000);

  test("sse-cycles: streams were open at once, and none is left behind", async () => {
    const { exitCode, result } = await runDrill("sse-cycles.ts", [
      "--cycles=200",
      "--parallel=20",
      "--warmup=20",
    ]);
    expect(result.failures).toBe(0);
    expect(result.peakSubscriptions).toBeGreaterThan(0);
    expect(result.leftBehind).toEqual([]);
    const after = result.after as Record<string, number>;
    expect(after.subscriptions).toBe(0);
    expect(after.healthSseClients).toBe(0);
    expect(after.metricSseClients).toBe(0);
    expect(exitCode).toBe(0);
  }, 60_000);

  test("idle-rss: dispatch serve starts every built-in extension and exits 0 on SIGTERM", async () => {
    const { exitCode, result } = await runDrill("idle-rss.ts", [
      "--runs=1",
      "--idle-ms=100",
      "--direct",
      "--limit-mib=100000",
    ]);
    expect(result.problems).toEqual([]);
    expect(result.dispatchRss).toBeGreaterThan(0);
    expect(result.bareRss).toBeGreaterThan(0);
    expect(exitCode).toBe(0);
  }, 60_000);
});
