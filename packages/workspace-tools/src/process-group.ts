import { readdirSync, readFileSync } from "node:fs";

/** Sends `signal` to every process in group `pgid`; false when the group is already gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * True while some process of group `pgid` is still running. A zombie does not count: where PID 1
 * does not reap orphans (containers, microVMs) a killed grandchild stays a zombie forever, yet it
 * runs nothing and holds nothing.
 */
export function groupIsRunning(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  return runningMembers(pgid) !== 0;
}

/** Running members of the group according to /proc; -1 when /proc cannot be read (then assume running). */
function runningMembers(pgid: number): number {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return -1;
  }
  let count = 0;
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue;
    }
    // Fields after the command name (which may itself hold spaces and parentheses): state, ppid, pgrp.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") count++;
  }
  return count;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until the group stops running or `ms` passes; true when it stopped. */
async function waitForGroup(pgid: number, ms: number, pollMs: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (groupIsRunning(pgid)) {
    if (Date.now() >= deadline) return false;
    await sleep(pollMs);
  }
  return true;
}

/**
 * Ends a whole process group: `first` (SIGTERM unless given), then SIGKILL to whatever is left after
 * `graceMs`. Resolves once nothing of the group runs (or, for a process stuck in the kernel, after a
 * bounded wait). Returns the signal that finished the job, or null when nothing was running.
 */
export async function terminateGroup(
  pgid: number,
  graceMs: number,
  first: NodeJS.Signals = "SIGTERM",
): Promise<NodeJS.Signals | null> {
  if (!groupIsRunning(pgid)) return null;
  signalGroup(pgid, first);
  if (await waitForGroup(pgid, graceMs, 20)) return first;
  signalGroup(pgid, "SIGKILL");
  await waitForGroup(pgid, 5000, 20);
  return "SIGKILL";
}
