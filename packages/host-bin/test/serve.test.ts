import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  cleanup,
  DispatchProcess,
  fixturesDir,
  readStatus,
  serveProcess,
  tempDir,
  writeConfig,
} from "./dispatch-process.ts";

// each test starts real processes; on a busy machine that takes more than the default 5 s
setDefaultTimeout(30_000);
afterEach(cleanup);

describe("dispatch serve", () => {
  test("answers /health, and SIGTERM stops it cleanly with exit 0 and a final status.json", async () => {
    const { child, dataDir } = serveProcess();
    const url = await child.url();

    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as {
      status: string;
      version: string;
      extensions: Array<{ id: string; state: string }>;
      faults: { total: number };
    };
    expect(body.status).toBe("ok");
    expect(body.version).toBe("0.1.0");
    expect(body.extensions.find((e) => e.id === "transport-http")?.state).toBe("active");
    expect(body.faults.total).toBe(0);

    const starting = child.records().find((r) => r.msg === "starting");
    expect(starting).toMatchObject({ dataDir, config: "embedded default" });
    expect(await readStatus(dataDir)).toMatchObject({ state: "running", pid: child.proc.pid });

    child.proc.kill("SIGTERM");
    expect(await child.exitWithin(5000)).toBe(0);
    const status = await readStatus(dataDir);
    expect(status).toMatchObject({ state: "stopped", exitCode: 0, pid: child.proc.pid });
    expect(typeof status.stoppedAt).toBe("string");
    expect(existsSync(join(dataDir, `status.json.${child.proc.pid}.tmp`))).toBe(false);
    expect(child.records().some((r) => r.msg === "stopped")).toBe(true);
  });

  test("SIGINT is a graceful stop too", async () => {
    const { child, dataDir } = serveProcess();
    await child.url();
    child.proc.kill("SIGINT");
    expect(await child.exitWithin(5000)).toBe(0);
    expect((await readStatus(dataDir)).state).toBe("stopped");
  });

  test("a second signal during shutdown exits at once with 130", async () => {
    const dir = tempDir();
    const config = writeConfig(dir, {
      extensions: { paths: [join(fixturesDir, "slow-stop-extension.ts")] },
      slowStop: { ms: 60_000 },
    });
    const { child, dataDir } = serveProcess({ config });
    await child.url();
    child.proc.kill("SIGTERM");
    await child.waitForRecord((r) => r.msg === "slow stop begins");
    child.proc.kill("SIGTERM");
    expect(await child.exitWithin(3000)).toBe(130);
    expect(await readStatus(dataDir)).toMatchObject({ state: "stopped", exitCode: 130 });
    expect(child.records().some((r) => r.msg === "stopped")).toBe(false);
  });

  test("the data dir comes from DISPATCH_DATA_DIR, and --data-dir wins over it", async () => {
    const fromEnv = join(tempDir(), "from-env");
    const viaEnv = new DispatchProcess(["serve", "--port", "0"], { DISPATCH_DATA_DIR: fromEnv });
    await viaEnv.url();
    expect(viaEnv.records().find((r) => r.msg === "starting")?.dataDir).toBe(fromEnv);
    expect(existsSync(join(fromEnv, "status.json"))).toBe(true);
    viaEnv.proc.kill("SIGTERM");
    expect(await viaEnv.exitWithin(5000)).toBe(0);

    const { child, dataDir } = serveProcess({ env: { DISPATCH_DATA_DIR: fromEnv } });
    await child.url();
    expect(child.records().find((r) => r.msg === "starting")?.dataDir).toBe(dataDir);
    child.proc.kill("SIGTERM");
    expect(await child.exitWithin(5000)).toBe(0);
  });

  test("a data dir that cannot be created exits 1 with a message and no stack", async () => {
    const file = writeConfig(tempDir(), {});
    const child = new DispatchProcess(["serve", "--port", "0", "--data-dir", join(file, "below-a-file")]);
    expect(await child.exitWithin(10_000)).toBe(1);
    expect(child.stderr.trim()).toMatch(/^dispatch: cannot create the data dir .*below-a-file: ENOTDIR/);
    expect(child.stderr).not.toMatch(/^\s+at /m);
  });

  test("a start-up failure exits 1 with one report and records the crash", async () => {
    const dir = tempDir();
    // the transport refuses a non-loopback address without a token: a critical activation failure
    const config = writeConfig(dir, { server: { host: "0.0.0.0" } });
    const { child, dataDir } = serveProcess({ config });
    expect(await child.exitWithin(10_000)).toBe(1);
    const failure = child.records().find((r) => r.msg === "start-up failed");
    expect(String(failure?.message)).toContain(
      "[transport-http] activation failed: refusing to listen on 0.0.0.0",
    );
    expect(await readStatus(dataDir)).toMatchObject({
      state: "crashed",
      reason: "start-up failed",
      exitCode: 1,
    });
  });
});
