import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { cleanup, DispatchProcess, fixturesDir, tempDir, writeConfig } from "./dispatch-process.ts";

// each test starts real processes; on a busy machine that takes more than the default 5 s
setDefaultTimeout(30_000);
afterEach(cleanup);

describe("dispatch extensions", () => {
  test("prints the activation order with versions, dependencies and states, without starting", async () => {
    const dir = tempDir();
    const config = writeConfig(dir, {
      extensions: { paths: [join(fixturesDir, "slow-stop-extension.ts")], disabled: ["slow-stop"] },
    });
    const child = new DispatchProcess(["extensions", "--config", config]);
    expect(await child.exitWithin(10_000)).toBe(0);
    const rows = child.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/^#\s+ID\s+VERSION\s+STATE\s+DEPENDS ON/);
    const byId = new Map(rows.slice(1).map((row) => [row.split(/\s+/)[1], row]));
    expect(byId.get("slow-stop")).toMatch(/^\d+\s+slow-stop\s+0\.0\.1\s+disabled\s+-\s+-$/);
    expect(byId.get("workspace-tools")).toMatch(/installed\s+conversation-store\s+session-orchestrator$/);
    expect(byId.get("transport-http")).toMatch(/installed\s+.*conversation-store/);
    const order = rows.slice(1).map((row) => row.split(/\s+/)[1]);
    expect(order.indexOf("conversation-store")).toBeLessThan(order.indexOf("transport-http"));
    // nothing started: no "listening" line, no data dir written
    expect(child.stderr).not.toContain("listening");
  });
});

describe("help and version", () => {
  test("--help prints the usage and exits 0", async () => {
    const child = new DispatchProcess(["--help"]);
    expect(await child.exitWithin(10_000)).toBe(0);
    expect(child.stdout).toContain("Usage: dispatch <command> [options]");
  });

  test("--version prints the version", async () => {
    const child = new DispatchProcess(["--version"]);
    expect(await child.exitWithin(10_000)).toBe(0);
    expect(child.stdout).toBe("dispatch 0.1.0\n");
  });
});
