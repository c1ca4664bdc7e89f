import type { Stats } from "node:fs";
import { lstat, mkdir, readdir, readlink, realpath, stat } from "node:fs/promises";
import { posix } from "node:path";
import { DispatchError, messageOf } from "@dispatch/kernel";
import type { ExecutionBackend } from "./backend.ts";
import { readBeneath, readdirBeneath, readManyBeneath, statBeneath, writeBeneath } from "./beneath-root.ts";
import { confinePath } from "./confine-path.ts";
import { execLocal, type LocalExecTuning } from "./local-exec.ts";
import { spawnLocal } from "./local-spawn.ts";
import type { ToolProcessRecords } from "./tool-process-records.ts";

/** Linux's limit on symlinks followed in one lookup. */
const maxSymlinks = 40;

/** Translates a Node fs error into a DispatchError that names the path. */
function fsError(error: unknown, path: string): DispatchError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new DispatchError("not_found", `${path}: no such file or directory`, { cause: error });
  }
  return new DispatchError("io_error", `${path}: ${messageOf(error)}`, { cause: error, details: { code } });
}

/**
 * The name on disk of `part` in directory `dir` when only another Unicode normalisation of it exists
 * there (a file created as NFD by a shell, asked for as NFC); undefined when there is none.
 */
async function otherSpelling(dir: string, part: string): Promise<string | undefined> {
  const wanted = part.normalize("NFC");
  // Plain ASCII (as many UTF-8 bytes as characters) has a single spelling: no listing needed.
  if (Buffer.byteLength(part) === part.length) return undefined;
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.sort().find((name) => name !== part && name.normalize("NFC") === wanted);
}

/**
 * `realpath -m`: resolves every symlink along `path`, following links one component at a time so
 * that a dangling link is resolved to where it points (a write through it would land there), then
 * appends the components that do not exist yet. A missing name that exists on disk under another
 * Unicode normalisation (NFD, as macOS tools and some shells write it) resolves to that entry.
 */
export async function resolveRealPath(path: string): Promise<string> {
  const absolute = posix.resolve(path);
  try {
    return await realpath(absolute);
  } catch {
    // Some component is missing (or a link dangles): walk it by hand below.
  }
  const pending = absolute.split("/").filter((part) => part !== "");
  let resolved = "/";
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === ".") continue;
    if (part === "..") {
      resolved = posix.dirname(resolved);
      continue;
    }
    const next = posix.join(resolved, part);
    let info: Stats;
    let onDisk = next;
    try {
      info = await lstat(next);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw fsError(error, next);
      const spelling = code === "ENOENT" ? await otherSpelling(resolved, part) : undefined;
      if (spelling === undefined) return posix.resolve(next, ...pending);
      onDisk = posix.join(resolved, spelling);
      try {
        info = await lstat(onDisk);
      } catch {
        return posix.resolve(next, ...pending);
      }
    }
    if (!info.isSymbolicLink()) {
      resolved = onDisk;
      continue;
    }
    if (++links > maxSymlinks)
      throw new DispatchError("io_error", `${path}: too many levels of symbolic links`);
    const target = await readlink(onDisk);
    if (target.startsWith("/")) resolved = "/";
    pending.unshift(...target.split("/").filter((p) => p !== ""));
  }
  return resolved;
}

/** Options of the local backend beyond process tuning. */
export interface LocalBackendOptions {
  /** Variable names kept out of tool processes on top of the built-in patterns (see `scrubEnv`). */
  secretEnvNames?: readonly string[];
  /** Where running tool process groups are recorded (`<dataDir>/tool-processes`). */
  records?: ToolProcessRecords;
}

/**
 * The backend that runs tools on this machine. File operations open what confinement checked
 * (see `beneath-root.ts`), so a path swapped for a symlink in the meantime cannot lead out.
 */
export function createLocalBackend(
  tuning?: LocalExecTuning,
  options: LocalBackendOptions = {},
): ExecutionBackend {
  const backend: ExecutionBackend = {
    id: "local",
    realpath: (path) => resolveRealPath(path),
    async identify(path) {
      try {
        const info = await stat(path);
        return { dev: info.dev, ino: info.ino };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") return undefined;
        throw fsError(error, path);
      }
    },
    readFile: readBeneath,
    readFiles: readManyBeneath,
    writeFile: writeBeneath,
    stat: statBeneath,
    readdir: readdirBeneath,
    async mkdirp(path) {
      try {
        await mkdir(path, { recursive: true });
      } catch (error) {
        throw fsError(error, path);
      }
    },
    async exec(command, execOptions) {
      try {
        return await execLocal(command, execOptions, tuning, options);
      } catch (error) {
        throw fsError(error, execOptions.cwd);
      }
    },
    async spawn(command, spawnOptions) {
      const cwd = await confinePath(backend, spawnOptions.root, spawnOptions.cwd ?? ".");
      try {
        return await spawnLocal(command, { ...spawnOptions, cwd: cwd.absolute }, tuning, options);
      } catch (error) {
        if (DispatchError.isInstance(error)) throw error;
        throw fsError(error, cwd.absolute);
      }
    },
  };
  return backend;
}
