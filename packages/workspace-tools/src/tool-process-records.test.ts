import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isRunning, makeSandbox, type Sandbox } from "../test/fixtures.ts";
import { endLeftoverToolProcesses, ToolProcessRecords, toolProcessesDir } from "./tool-process-records.ts";

let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.cleanup());

/** A detached `sleep` in its own process group, as a tool's shell would be. */
function detachedSleep() {
  return Bun.spawn(["setsid", "sleep", "30"], { stdio: ["ignore", "ignore", "ignore"] });
}

test("a recorded group that still runs is ended at the next start; its record goes", async () => {
  const child = detachedSleep();
  await Bun.sleep(50);
  new ToolProcessRecords(box.dir).add(child.pid);
  expect(readdirSync(join(box.dir, toolProcessesDir))).toEqual([`${child.pid}.json`]);
  const report = await endLeftoverToolProcesses(box.dir, 500);
  expect(report.ended).toEqual([child.pid]);
  await child.exited;
  expect(isRunning(child.pid)).toBe(false);
  expect(readdirSync(join(box.dir, toolProcessesDir))).toEqual([]);
});

test("a record from another boot, or for a pid now started at another time, is dropped without a signal", async () => {
  const child = detachedSleep();
  await Bun.sleep(50);
  try {
    const dir = join(box.dir, toolProcessesDir);
    new ToolProcessRecords(box.dir).add(child.pid);
    writeFileSync(
      join(dir, `${child.pid}.json`),
      JSON.stringify({ pgid: child.pid, startTicks: 1, bootId: "x" }),
    );
    expect(await endLeftoverToolProcesses(box.dir, 500)).toEqual({ ended: [], stale: 1 });
    expect(isRunning(child.pid)).toBe(true);
    expect(existsSync(join(dir, `${child.pid}.json`))).toBe(false);
  } finally {
    child.kill("SIGKILL");
  }
});

test("the record's remover drops it, and no records dir means nothing to do", async () => {
  const records = new ToolProcessRecords(box.dir);
  const forget = records.add(999_999_999);
  forget();
  expect(readdirSync(join(box.dir, toolProcessesDir))).toEqual([]);
  expect(await endLeftoverToolProcesses(join(box.dir, "nowhere"))).toEqual({ ended: [], stale: 0 });
});
