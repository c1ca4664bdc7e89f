import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { cleanup, fixturesDir, readStatus, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";

// each test starts real processes; on a busy machine that takes more than the default 5 s
setDefaultTimeout(30_000);
afterEach(cleanup);

interface HealthBody {
  status: string;
  extensions: Array<{ id: string; state: string; faults: number }>;
  faults: { total: number; bySource: Record<string, number> };
}

const faulty = join(fixturesDir, "faulty-extension.ts");

describe("crash guards", () => {
  test("a throw from a plain timer and an unhandled rejection do not take the host down", async () => {
    const config = writeConfig(tempDir(), { extensions: { paths: [faulty] }, faulty: { rounds: 1 } });
    const { child, dataDir } = serveProcess({ config });
    const url = await child.url();
    await child.waitForRecord((r) => r.kind === "uncaughtException");
    await child.waitForRecord((r) => r.kind === "unhandledRejection");
    await child.waitForRecord((r) => r.kind === "timer" && r.source === "faulty");

    const res = await fetch(`${url}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as HealthBody;
    expect(body.faults).toEqual({ total: 3, bySource: { process: 2, faulty: 1 } });
    expect(body.extensions.find((e) => e.id === "faulty")).toMatchObject({ state: "active", faults: 1 });

    const uncaught = child.records().find((r) => r.kind === "uncaughtException");
    expect(uncaught).toMatchObject({
      level: "error",
      source: "process",
      err: { stack: expect.stringContaining("faulty-extension.ts") },
    });

    child.proc.kill("SIGTERM");
    expect(await child.exitWithin(5000)).toBe(0);
    expect(await readStatus(dataDir)).toMatchObject({ state: "stopped", faults: 3 });
  });

  test("past the fault budget the host shuts down cleanly with exit 70", async () => {
    const config = writeConfig(tempDir(), {
      extensions: { paths: [faulty] },
      faulty: { rounds: 50, everyMs: 5 },
      guards: { faultBudget: 4, faultWindowMs: 60_000 },
    });
    const { child, dataDir } = serveProcess({ config });
    expect(await child.exitWithin(10_000)).toBe(70);
    expect(child.records().some((r) => r.msg === "fault budget exceeded: shutting down")).toBe(true);
    expect(child.records().some((r) => r.msg === "stopped" && r.exitCode === 70)).toBe(true);
    expect(await readStatus(dataDir)).toMatchObject({
      state: "crashed",
      reason: "fault budget exceeded",
      exitCode: 70,
    });
  });
});
