import type { Dirent, Stats } from "node:fs";
import { lstat, mkdir, open, readdir, readlink, realpath, writeFile } from "node:fs/promises";
import { posix } from "node:path";
import { DispatchError, messageOf } from "@dispatch/kernel";
import type { EntryKind, ExecutionBackend } from "./backend.ts";
import { confinePath } from "./confine-path.ts";
import { execLocal, type LocalExecTuning } from "./local-exec.ts";
import { spawnLocal } from "./local-spawn.ts";

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

function kindOf(entry: Stats | Dirent): EntryKind {
  if (entry.isSymbolicLink()) return "symlink";
  if (entry.isDirectory()) return "directory";
  if (entry.isFile()) return "file";
  return "other";
}

/**
 * `realpath -m`: resolves every symlink along `path`, following links one component at a time so
 * that a dangling link is resolved to where it points (a write through it would land there), then
 * appends the components that do not exist yet.
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
    try {
      info = await lstat(next);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw fsError(error, next);
      return posix.resolve(next, ...pending);
    }
    if (!info.isSymbolicLink()) {
      resolved = next;
      continue;
    }
    if (++links > maxSymlinks)
      throw new DispatchError("io_error", `${path}: too many levels of symbolic links`);
    const target = await readlink(next);
    if (target.startsWith("/")) resolved = "/";
    pending.unshift(...target.split("/").filter((p) => p !== ""));
  }
  return resolved;
}

/** The backend that runs tools on this machine. */
export function createLocalBackend(tuning?: LocalExecTuning): ExecutionBackend {
  const backend: ExecutionBackend = {
    id: "local",
    realpath: (path) => resolveRealPath(path),
    async readFile(path, maxBytes) {
      let handle: Awaited<ReturnType<typeof open>> | undefined;
      try {
        handle = await open(path, "r");
        const { size } = await handle.stat();
        const want = Math.min(size, maxBytes);
        const data = new Uint8Array(want);
        let filled = 0;
        while (filled < want) {
          const { bytesRead } = await handle.read(data, filled, want - filled, filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return { data: data.subarray(0, filled), truncated: size > maxBytes };
      } catch (error) {
        throw fsError(error, path);
      } finally {
        await handle?.close();
      }
    },
    async writeFile(path, data) {
      try {
        await writeFile(path, data);
      } catch (error) {
        throw fsError(error, path);
      }
    },
    async stat(path) {
      try {
        const info = await lstat(path);
        return { kind: kindOf(info), size: info.size };
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") return undefined;
        throw fsError(error, path);
      }
    },
    async readdir(path) {
      try {
        const entries = await readdir(path, { withFileTypes: true });
        return entries.map((entry) => ({ name: entry.name, kind: kindOf(entry) }));
      } catch (error) {
        throw fsError(error, path);
      }
    },
    async mkdirp(path) {
      try {
        await mkdir(path, { recursive: true });
      } catch (error) {
        throw fsError(error, path);
      }
    },
    async exec(command, options) {
      try {
        return await execLocal(command, options, tuning);
      } catch (error) {
        throw fsError(error, options.cwd);
      }
    },
    async spawn(command, options) {
      const cwd = await confinePath(backend, options.root, options.cwd ?? ".");
      try {
        return await spawnLocal(command, { ...options, cwd: cwd.absolute }, tuning);
      } catch (error) {
        if (DispatchError.isInstance(error)) throw error;
        throw fsError(error, cwd.absolute);
      }
    },
  };
  return backend;
}
