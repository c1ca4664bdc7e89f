import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { apiClient, readEvents, startTurn, waitForTurnEnd } from "./api-client.ts";
import { cleanup, DispatchProcess, serveProcess, tempDir, writeConfig } from "./dispatch-process.ts";
import { scriptedConfig } from "./hostile-script.ts";

setDefaultTimeout(90_000);
afterEach(cleanup);

/** Processes whose command line holds `marker`, with their process group ids. */
function processesWith(marker: string): Array<{ pid: number; pgid: number }> {
  const found: Array<{ pid: number; pgid: number }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue;
      found.push({ pid: Number(entry), pgid: Number(fields[2]) });
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

/** Members of process group `pgid` that still run (zombies excluded). */
function runningIn(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid && fields[0] !== "Z") pids.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return pids;
}

test("five running bash tools do not survive a kill -9 of bin/dispatch serve and a restart, and write nothing (unconfined)", async () => {
  const marker = `crash-marker-${process.pid}-${Date.now()}`;
  const config = writeConfig(
    tempDir(),
    scriptedConfig(
      [
        {
          when: "sleep",
          steps: [{ tool: "bash", input: { command: `sleep 25; echo late > late-$RANDOM.txt # ${marker}` } }],
        },
      ],
      // Unconfined: the records of tool process groups are what ends them (sandboxed ones die with the host).
      { tools: { sandbox: "none" } },
    ),
  );
  const first = serveProcess({ config });
  const url = await first.child.url();
  const root = join(tempDir(), "ws");
  await apiClient(url).workspaces.$post({ json: { id: "crash", root } });
  const conversations: string[] = [];
  for (let i = 0; i < 5; i++) conversations.push(await startTurn(url, "crash", "sleep"));
  for (const id of conversations) {
    await readEvents(url, id, (events) => events.some((e) => e.type === "tool.call"));
  }
  // bounded, but generous: five bash starts can take seconds on a loaded machine
  const deadline = Date.now() + 30_000;
  while (processesWith(marker).length < 5 && Date.now() < deadline) await Bun.sleep(50);
  const groups = [...new Set(processesWith(marker).map((p) => p.pgid))];
  expect(groups).toHaveLength(5);
  const startedAt = Date.now();

  first.child.proc.kill("SIGKILL");
  await first.child.exitWithin(10_000);
  // Killing the host alone ends nothing: the tools run on, orphaned.
  for (const pgid of groups) expect(runningIn(pgid).length).toBeGreaterThan(0);

  const second = new DispatchProcess([
    "serve",
    "--data-dir",
    first.dataDir,
    "--port",
    "0",
    "--config",
    config,
  ]);
  const url2 = await second.url();
  for (const pgid of groups) expect(runningIn(pgid)).toEqual([]);
  // They were ended before recovery marked their turns interrupted.
  const lines = second.records().map((r) => r.msg);
  const ended = lines.indexOf("ended tool processes left running by the previous run");
  const recovered = lines.indexOf("turns left unfinished by the last run are now interrupted");
  expect(ended).toBeGreaterThanOrEqual(0);
  expect(recovered).toBeGreaterThan(ended);
  for (const id of conversations) expect(await waitForTurnEnd(url2, id)).toBe("interrupted");
  expect(readdirSync(join(first.dataDir, "tool-processes"))).toEqual([]);

  // Past the moment the commands would have written their files: none did.
  await Bun.sleep(Math.max(0, startedAt + 26_000 - Date.now()));
  expect(existsSync(root) ? readdirSync(root).filter((name) => name.startsWith("late-")) : []).toEqual([]);
  second.proc.kill("SIGTERM");
  expect(await second.exitWithin(10_000)).toBe(0);
});

test("sandboxed bash tools die with a kill -9 of bin/dispatch serve, before any restart, and write nothing", async () => {
  const marker = `sandbox-crash-marker-${process.pid}-${Date.now()}`;
  const config = writeConfig(
    tempDir(),
    scriptedConfig(
      [
        {
          when: "sleep",
          steps: [{ tool: "bash", input: { command: `sleep 6; echo late > late-$RANDOM.txt # ${marker}` } }],
        },
      ],
      { tools: { sandbox: "required" } },
    ),
  );
  const first = serveProcess({ config });
  const url = await first.child.url();
  const root = join(tempDir(), "ws");
  await apiClient(url).workspaces.$post({ json: { id: "crash", root } });
  const conversations: string[] = [];
  for (let i = 0; i < 3; i++) conversations.push(await startTurn(url, "crash", "sleep"));
  for (const id of conversations) {
    await readEvents(url, id, (events) => events.some((e) => e.type === "tool.call"));
  }
  const deadline = Date.now() + 10_000;
  // Each call is bwrap, its init and the command's shell, at least: three processes with the marker.
  while (processesWith(marker).length < 9 && Date.now() < deadline) await Bun.sleep(50);
  expect(processesWith(marker).length).toBeGreaterThanOrEqual(9);
  const startedAt = Date.now();

  first.child.proc.kill("SIGKILL");
  await first.child.exitWithin(10_000);
  // bwrap dies with its parent, the host, and takes the PID namespace with it.
  const gone = Date.now() + 5_000;
  while (processesWith(marker).length > 0 && Date.now() < gone) await Bun.sleep(20);
  expect(processesWith(marker)).toEqual([]);

  const second = new DispatchProcess([
    "serve",
    "--data-dir",
    first.dataDir,
    "--port",
    "0",
    "--config",
    config,
  ]);
  const url2 = await second.url();
  for (const id of conversations) expect(await waitForTurnEnd(url2, id)).toBe("interrupted");
  await Bun.sleep(Math.max(0, startedAt + 7_000 - Date.now()));
  expect(existsSync(root) ? readdirSync(root).filter((name) => name.startsWith("late-")) : []).toEqual([]);
  second.proc.kill("SIGTERM");
  expect(await second.exitWithin(10_000)).toBe(0);
});
