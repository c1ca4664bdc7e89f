import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { groupIsRunning, terminateGroup } from "./process-group.ts";

/** Folder under the data dir that holds one record per running tool process group. */
export const toolProcessesDir = "tool-processes";

/** One record: enough to find the group again and to tell it from a later one with the same id. */
interface GroupRecord {
  pgid: number;
  /** The leader's start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  startTicks: number | null;
  bootId: string | null;
}

function readBootId(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return null;
  }
}

/** The start time of process `pid` in clock ticks since boot; null when it is gone. */
function startTicksOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces and parentheses) start at field 3.
    const value = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * The running tool process groups of this host, each recorded as a small file in
 * `<dataDir>/tool-processes/` for as long as it runs, so that the next start after a crash
 * (which runs no cleanup) can end what was left (`endLeftoverToolProcesses`). Writes are
 * synchronous: a record must exist before the command can outlive a crash, and it is tiny.
 */
export class ToolProcessRecords {
  readonly #dir: string;
  readonly #bootId = readBootId();

  constructor(dataDir: string) {
    this.#dir = join(dataDir, toolProcessesDir);
  }

  /** Records group `pgid` (its leader has just been spawned); returns the function that drops the record. */
  add(pgid: number): () => void {
    const record: GroupRecord = { pgid, startTicks: startTicksOf(pgid), bootId: this.#bootId };
    const path = join(this.#dir, `${pgid}.json`);
    try {
      mkdirSync(this.#dir, { recursive: true });
      writeFileSync(path, JSON.stringify(record));
    } catch {
      // An unwritable data dir must not stop the tool; only crash cleanup is lost.
      return () => {};
    }
    return () => rmSync(path, { force: true });
  }
}

/** What `endLeftoverToolProcesses` did. */
export interface LeftoverReport {
  /** Groups that were still running and were ended. */
  ended: number[];
  /** Records dropped without signalling: the group was gone, or its id now belongs to another process. */
  stale: number;
}

/**
 * Ends the tool process groups a previous run of the host recorded and left running (it crashed, or
 * was killed with SIGKILL): SIGTERM, then SIGKILL after `graceMs`. A record from another boot, or
 * whose group id now names a process started at another time, is dropped without signalling.
 * Call it before anything else uses the data dir's records, at start-up.
 */
export async function endLeftoverToolProcesses(dataDir: string, graceMs = 2000): Promise<LeftoverReport> {
  const dir = join(dataDir, toolProcessesDir);
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith(".json"));
  } catch {
    return { ended: [], stale: 0 };
  }
  const bootId = readBootId();
  const live: number[] = [];
  let stale = 0;
  for (const name of names) {
    const path = join(dir, name);
    let record: GroupRecord | undefined;
    try {
      record = JSON.parse(readFileSync(path, "utf8")) as GroupRecord;
    } catch {
      record = undefined;
    }
    const pgid = record?.pgid;
    const leaderNow = pgid === undefined ? null : startTicksOf(pgid);
    const reused =
      record === undefined ||
      record.bootId !== bootId ||
      // The leader may be gone while its group lives on; a leader that exists must be the recorded one.
      (leaderNow !== null && record.startTicks !== null && leaderNow !== record.startTicks);
    if (pgid !== undefined && Number.isInteger(pgid) && pgid > 1 && !reused && groupIsRunning(pgid))
      live.push(pgid);
    else stale++;
  }
  await Promise.all(live.map((pgid) => terminateGroup(pgid, graceMs)));
  for (const name of names) rmSync(join(dir, name), { force: true });
  return { ended: live, stale };
}
