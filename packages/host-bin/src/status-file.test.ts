import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StatusFile } from "./status-file.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function statusIn(dataDir: string, active = () => 3) {
  return new StatusFile({
    dataDir,
    version: "9.9.9",
    startedAt: new Date("2026-01-01T00:00:00Z"),
    activeConversations: active,
    faults: () => 1,
  });
}

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "dispatch-status-test-"));
  dirs.push(dir);
  return dir;
}

test("writes the documented fields atomically, leaving no temp file", () => {
  const dir = tempDataDir();
  const status = statusIn(dir);
  expect(status.write({ state: "running" })).toBeUndefined();
  const snapshot = JSON.parse(readFileSync(join(dir, "status.json"), "utf8"));
  expect(snapshot).toMatchObject({
    pid: process.pid,
    version: "9.9.9",
    state: "running",
    startedAt: "2026-01-01T00:00:00.000Z",
    activeConversations: 3,
    faults: 1,
  });
  expect(snapshot.memory.rss).toBeGreaterThan(0);
  expect(Date.parse(snapshot.heartbeat)).not.toBeNaN();
  expect(readdirSync(dir)).toEqual(["status.json"]);
});

test("the final write replaces the running state; a throwing counter reads as 0", () => {
  const dir = tempDataDir();
  const status = statusIn(dir, () => {
    throw new Error("orchestrator gone");
  });
  status.start(60_000);
  status.stop();
  status.write({ state: "stopped", stoppedAt: "2026-01-01T00:01:00.000Z", exitCode: 0 });
  const snapshot = JSON.parse(readFileSync(join(dir, "status.json"), "utf8"));
  expect(snapshot).toMatchObject({ state: "stopped", exitCode: 0, activeConversations: 0 });
});

test("a write that cannot happen returns the error instead of throwing", () => {
  const status = statusIn(join(tempDataDir(), "missing", "deeper"));
  const error = status.write({ state: "running" });
  expect(error?.message).toContain("ENOENT");
});

test("start refreshes the heartbeat on its interval until stop", async () => {
  const dir = tempDataDir();
  const status = statusIn(dir);
  status.start(5);
  const first = JSON.parse(readFileSync(join(dir, "status.json"), "utf8")).heartbeat;
  let latest = first;
  for (let i = 0; i < 200 && latest === first; i++) {
    await Bun.sleep(5);
    latest = JSON.parse(readFileSync(join(dir, "status.json"), "utf8")).heartbeat;
  }
  status.stop();
  expect(latest).not.toBe(first);
});
