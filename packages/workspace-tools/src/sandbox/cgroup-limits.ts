import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { SandboxLimits } from "../config.ts";

/** Where the controllers a call needs are listed for a cgroup's children. */
const needed = ["memory", "pids"] as const;

/** The cgroup v2 directory this process is in, from /proc/self/cgroup and /proc/self/mountinfo. */
async function ownCgroup(): Promise<string | undefined> {
  const [cgroups, mounts] = await Promise.all([
    readFile("/proc/self/cgroup", "utf8").catch(() => ""),
    readFile("/proc/self/mountinfo", "utf8").catch(() => ""),
  ]);
  const path = cgroups
    .split("\n")
    .find((line) => line.startsWith("0::"))
    ?.slice(3);
  // mountinfo: "… mount-point … - fstype source options"; field 5 is the mount point.
  const mount = mounts
    .split("\n")
    .map((line) => line.split(" "))
    .find((fields) => fields[fields.indexOf("-") + 1] === "cgroup2")?.[4];
  if (path === undefined || mount === undefined) return undefined;
  return join(mount, path);
}

/**
 * Finds a cgroup v2 directory in which a child cgroup can be made per call with the memory and pids
 * controllers: `configured`, or this process's own cgroup. Returns the reason when there is none
 * (no cgroup v2, controllers not enabled for children, not writable), for /health.
 */
export async function findCgroupParent(
  configured: string | null,
): Promise<{ parent: string } | { reason: string }> {
  const candidate = configured ?? (await ownCgroup());
  if (candidate === undefined) return { reason: "no cgroup v2 hierarchy is mounted" };
  let control: string;
  try {
    control = await readFile(join(candidate, "cgroup.subtree_control"), "utf8");
  } catch {
    return { reason: `${candidate} is not a cgroup v2 directory` };
  }
  const enabled = control.trim().split(/\s+/);
  const missing = needed.filter((name) => !enabled.includes(name));
  if (missing.length > 0) {
    return {
      reason: `cgroup v2 at ${candidate} does not enable ${missing.join(" and ")} for its children (cgroup.subtree_control: "${control.trim()}")`,
    };
  }
  const probe = join(candidate, `dispatch-probe-${process.pid}`);
  try {
    await mkdir(probe);
    await rmdir(probe);
  } catch (error) {
    return { reason: `cannot make a child cgroup in ${candidate}: ${(error as Error).message}` };
  }
  return { parent: candidate };
}

/** One call's cgroup: the `cgroup.procs` to join and its removal. */
export interface CallCgroup {
  procs: string;
  /** Kills what is left in it (cgroup.kill) and removes it; never rejects. */
  release(): Promise<void>;
}

/** Makes a child cgroup for one call with its memory and pids limits (swap off, so memory means memory). */
export async function createCallCgroup(parent: string, limits: SandboxLimits): Promise<CallCgroup> {
  const dir = join(parent, `dispatch-call-${crypto.randomUUID()}`);
  await mkdir(dir);
  if (limits.memoryBytes !== null) {
    await writeFile(join(dir, "memory.max"), String(limits.memoryBytes));
    await writeFile(join(dir, "memory.swap.max"), "0").catch(() => {});
  }
  if (limits.pids !== null) await writeFile(join(dir, "pids.max"), String(limits.pids));
  return {
    procs: join(dir, "cgroup.procs"),
    async release() {
      await writeFile(join(dir, "cgroup.kill"), "1").catch(() => {});
      // Killed processes leave the cgroup asynchronously; the directory goes once it is empty.
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          await rmdir(dir);
          return;
        } catch {
          await Bun.sleep(20);
        }
      }
    },
  };
}
