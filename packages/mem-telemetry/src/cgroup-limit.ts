import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { DispatchError, messageOf } from "@dispatch/kernel";

/**
 * cgroup v1 has no "unlimited" word: it reports the largest page-aligned signed 64-bit value
 * (9223372036854771712 with 4 KiB pages, a little less with larger pages). Nothing real comes near
 * 2^62 bytes, so anything at or above it means "no limit".
 */
const unlimitedFrom = 2n ** 62n;

function parseBytes(text: string, expected: string): number | null {
  const value = text.trim();
  if (!/^\d+$/.test(value)) {
    throw new DispatchError("invalid_cgroup_value", `expected ${expected}, got "${value.slice(0, 40)}"`);
  }
  const bytes = BigInt(value);
  return bytes >= unlimitedFrom ? null : Number(bytes);
}

/** Parses cgroup v2 `memory.max`: a byte count, or null for "max" (no limit). Throws on anything else. */
export function parseCgroupV2Max(text: string): number | null {
  return text.trim() === "max" ? null : parseBytes(text, 'a byte count or "max"');
}

/** Parses cgroup v1 `memory.limit_in_bytes`: a byte count, or null for the huge "unlimited" value. */
export function parseCgroupV1Limit(text: string): number | null {
  return parseBytes(text, "a byte count");
}

/** This process's cgroup paths, from `/proc/self/cgroup`. */
export interface ProcCgroupPaths {
  /** The unified (v2) path, from the `0::<path>` line. */
  v2?: string;
  /** The v1 path of the hierarchy that carries the `memory` controller. */
  v1Memory?: string;
}

/** Parses `/proc/self/cgroup` (`id:controllers:path` per line). */
export function parseProcSelfCgroup(text: string): ProcCgroupPaths {
  const paths: ProcCgroupPaths = {};
  for (const line of text.split("\n")) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, id, controllers = "", path = ""] = match;
    if (id === "0" && controllers === "") paths.v2 = path;
    else if (controllers.split(",").includes("memory")) paths.v1Memory = path;
  }
  return paths;
}

/** Where `readCgroupMemoryLimit` looks; overridable so tests can point it at a temp dir. */
export interface CgroupLocations {
  /** The cgroup mount point. Default `/sys/fs/cgroup`. */
  root?: string;
  /** Default `/proc/self/cgroup`. */
  procSelfCgroup?: string;
}

/** A limit found in the cgroup filesystem. */
export interface CgroupLimit {
  /** Bytes, or null when every file found said "no limit". */
  limitBytes: number | null;
  version: 1 | 2;
  /** The file the limit came from (the first file read when there is none). */
  file: string;
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EACCES") return undefined;
    throw error;
  }
}

/**
 * Directories from the process's own cgroup up to the mount root. A cgroup is bounded by every
 * ancestor's limit too (a `MemoryMax` on a slice applies to its services), so all of them count.
 * A path that escapes the mount (cgroup namespaces can show `/../..`) only yields the root.
 */
function candidateDirs(mount: string, ownPath: string | undefined): string[] {
  const dirs: string[] = [];
  const normalised = ownPath === undefined ? "/" : posix.normalize(`/${ownPath}`);
  const parts = ownPath?.includes("..") ? [] : normalised.split("/").filter((p) => p !== "");
  for (let n = parts.length; n > 0; n--) dirs.push(posix.join(mount, ...parts.slice(0, n)));
  dirs.push(mount);
  return dirs;
}

function lowest(
  dirs: readonly string[],
  fileName: string,
  parse: (text: string) => number | null,
): { limitBytes: number | null; file: string } | undefined {
  let found: { limitBytes: number | null; file: string } | undefined;
  for (const dir of dirs) {
    const file = posix.join(dir, fileName);
    const text = readIfPresent(file);
    if (text === undefined) continue;
    let bytes: number | null;
    try {
      bytes = parse(text);
    } catch (error) {
      throw new DispatchError("invalid_cgroup_value", `${file}: ${messageOf(error)}`, { cause: error });
    }
    if (found === undefined || (bytes !== null && (found.limitBytes === null || bytes < found.limitBytes))) {
      found = { limitBytes: bytes, file };
    }
  }
  return found;
}

/**
 * Finds this process's memory limit: cgroup v2 `memory.max` (own cgroup and its ancestors), else
 * cgroup v1 `memory/memory.limit_in_bytes`. Returns undefined when neither file exists (not Linux,
 * or no memory controller). Throws `invalid_cgroup_value` when a file holds something unreadable.
 */
export function readCgroupMemoryLimit(locations: CgroupLocations = {}): CgroupLimit | undefined {
  const root = locations.root ?? "/sys/fs/cgroup";
  const own = parseProcSelfCgroup(readIfPresent(locations.procSelfCgroup ?? "/proc/self/cgroup") ?? "");
  const v2 = lowest(candidateDirs(root, own.v2), "memory.max", parseCgroupV2Max);
  if (v2) return { ...v2, version: 2 };
  const v1 = lowest(
    candidateDirs(posix.join(root, "memory"), own.v1Memory),
    "memory.limit_in_bytes",
    parseCgroupV1Limit,
  );
  return v1 ? { ...v1, version: 1 } : undefined;
}
