import { constants, type Dirent, type Stats } from "node:fs";
import { type FileHandle, lstat, mkdir, open, readdir } from "node:fs/promises";
import { posix } from "node:path";
import { DispatchError, messageOf } from "@dispatch/kernel";
import type { ConfinedPath, EntryKind, FileAccess, FileId } from "./backend.ts";
import { childPath } from "./confine-path.ts";

/**
 * File operations that act on the object confinement checked, not on whatever a path names by the
 * time it is used. The root is opened and its identity compared with the pin; every component below
 * it is then opened from its parent's descriptor through `/proc/self/fd/<dirfd>/<name>` with
 * `O_NOFOLLOW` (an `openat` that Bun's fs can make), so a symlink swapped in after the check stops the
 * walk instead of leading out of the workspace. Linux only, like the rest of the local backend.
 */

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK } = constants;

/** `dev:ino`, the key of `FileAccess.created`. */
export function fileKey(id: FileId): string {
  return `${id.dev}:${id.ino}`;
}

const at = (dir: FileHandle, name: string) => `/proc/self/fd/${dir.fd}/${name}`;
const codeOf = (error: unknown) => (error as NodeJS.ErrnoException).code;

function changed(path: ConfinedPath, component: string, cause: unknown): DispatchError {
  return new DispatchError(
    "path_changed",
    `${path.display}: "${component}" became a symbolic link after the path was checked; refused, so nothing ` +
      "outside the workspace is touched. Try again once the path stops changing.",
    { cause, details: { path: path.relative } },
  );
}

function failure(path: ConfinedPath, error: unknown): DispatchError {
  if (DispatchError.isInstance(error)) return error;
  const code = codeOf(error);
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new DispatchError("not_found", `${path.display}: no such file or directory`, { cause: error });
  }
  return new DispatchError("io_error", `${path.display}: ${messageOf(error)}`, {
    cause: error,
    details: { code },
  });
}

/** Opens the root directory and checks it is still the pinned one. */
async function openRoot(path: ConfinedPath): Promise<FileHandle> {
  const root = await open(path.root, O_RDONLY | O_DIRECTORY);
  if (path.rootId === undefined) return root;
  const info = await root.stat();
  if (info.dev !== path.rootId.dev || info.ino !== path.rootId.ino) {
    await root.close();
    throw rootChanged(path.root, path.rootId, { dev: info.dev, ino: info.ino });
  }
  return root;
}

/** The error for a workspace root that is no longer the directory pinned when the workspace was loaded. */
export function rootChanged(root: string, pinned: FileId, now: FileId | undefined): DispatchError {
  return new DispatchError(
    "workspace_root_changed",
    `the workspace root ${root} is not the directory it was when the workspace was loaded ` +
      `(device:inode ${fileKey(pinned)} then, ${now === undefined ? "missing" : fileKey(now)} now): it was ` +
      "moved, removed or replaced, perhaps by a symbolic link. Nothing was touched. Put the directory back, " +
      "or set the workspace's root again (PATCH /workspaces/:id) to accept a new one.",
    { details: { root, pinned, now } },
  );
}

/** The components below the root, spelt as on disk. */
function componentsOf(path: ConfinedPath): string[] {
  const rest = posix.relative(path.root, path.absolute);
  return rest === "" ? [] : rest.split("/");
}

/**
 * Opens every directory on the way to the last component and returns the last one's parent and
 * name (no name: the path is the root). With `create`, missing directories are made on the way.
 */
async function openParent(
  path: ConfinedPath,
  create: boolean,
): Promise<{ dir: FileHandle; name: string | undefined }> {
  const parts = componentsOf(path);
  let dir: FileHandle;
  try {
    dir = await openRoot(path);
  } catch (error) {
    throw failure(path, error);
  }
  try {
    for (const part of parts.slice(0, -1)) {
      if (create) {
        await mkdir(at(dir, part)).catch((error: unknown) => {
          if (codeOf(error) !== "EEXIST") throw error;
        });
      }
      const next = await openLast(path, dir, part, O_RDONLY | O_DIRECTORY);
      await dir.close();
      dir = next;
    }
  } catch (error) {
    await dir.close();
    throw failure(path, error);
  }
  return { dir, name: parts.at(-1) };
}

/**
 * Opens entry `name` of `dir` with `flags` plus `O_NOFOLLOW`; the caller closes it. A symlink there
 * is a `path_changed` refusal: confinement resolved every link, so one now was swapped in since.
 */
async function openLast(path: ConfinedPath, dir: FileHandle, name: string, flags: number, mode?: number) {
  try {
    return await open(at(dir, name), flags | O_NOFOLLOW, mode);
  } catch (error) {
    const code = codeOf(error);
    // With O_DIRECTORY, Linux answers a symlink with ENOTDIR rather than ELOOP.
    if (code === "ELOOP") throw changed(path, name, error);
    if (code === "ENOTDIR" && (await lstat(at(dir, name)).catch(() => undefined))?.isSymbolicLink()) {
      throw changed(path, name, error);
    }
    throw error;
  }
}

/** Refuses what is not a regular file, and a hard-linked one the tools did not create in this turn. */
function checkRegular(path: ConfinedPath, info: Stats, access: FileAccess | undefined): void {
  if (!info.isFile()) throw new DispatchError("io_error", `${path.display} is not a regular file`);
  if (info.nlink > 1 && !access?.created?.has(fileKey(info))) {
    throw new DispatchError(
      "hard_link_refused",
      `${path.display} has ${info.nlink} hard links, so it may be a file from outside the workspace linked ` +
        "in; refused. Only files the tools created in this turn may have more than one link. Copy the file " +
        "(cp) to work on its contents.",
      { details: { path: path.relative, links: info.nlink } },
    );
  }
}

/** Reads at most `maxBytes` of a regular file below the root. */
export async function readBeneath(
  path: ConfinedPath,
  maxBytes: number,
  access?: FileAccess,
): Promise<{ data: Uint8Array; truncated: boolean }> {
  const { dir, name } = await openParent(path, false);
  try {
    if (name === undefined) throw new DispatchError("io_error", `${path.display} is a directory`);
    return await readEntry(path, dir, name, maxBytes, access);
  } finally {
    await dir.close();
  }
}

/**
 * Reads several files of one directory (entry names, as a listing spells them) through a single
 * handle on it: the walk to the directory is paid once, not per file. A file that cannot be read
 * (gone, refused, not a regular file) is undefined in the answer.
 */
export async function readManyBeneath(
  dir: ConfinedPath,
  names: readonly string[],
  maxBytes: number,
  access?: FileAccess,
): Promise<Array<{ data: Uint8Array; truncated: boolean } | undefined>> {
  const { dir: parent, name } = await openParent(dir, false);
  let listed: FileHandle | undefined;
  try {
    listed = name === undefined ? parent : await openLast(dir, parent, name, O_RDONLY | O_DIRECTORY);
    const handle = listed;
    return await Promise.all(
      names.map((entry) =>
        readEntry(childPath(dir, entry), handle, entry, maxBytes, access).catch(() => undefined),
      ),
    );
  } catch (error) {
    throw failure(dir, error);
  } finally {
    if (listed !== parent) await listed?.close();
    await parent.close();
  }
}

/** Reads entry `name` of the open directory `dir`, which `path` names. */
async function readEntry(
  path: ConfinedPath,
  dir: FileHandle,
  name: string,
  maxBytes: number,
  access: FileAccess | undefined,
): Promise<{ data: Uint8Array; truncated: boolean }> {
  let file: FileHandle | undefined;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused as not a regular file).
    file = await openLast(path, dir, name, O_RDONLY | O_NONBLOCK);
    const info = await file.stat();
    checkRegular(path, info, access);
    const want = Math.min(info.size, maxBytes);
    const data = new Uint8Array(want);
    let filled = 0;
    while (filled < want) {
      const { bytesRead } = await file.read(data, filled, want - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { data: data.subarray(0, filled), truncated: info.size > maxBytes };
  } catch (error) {
    throw failure(path, error);
  } finally {
    await file?.close();
  }
}

/** Creates or replaces a regular file below the root, making missing parent directories. */
export async function writeBeneath(
  path: ConfinedPath,
  data: Uint8Array,
  access?: FileAccess,
): Promise<{ created: FileId | undefined }> {
  const { dir, name } = await openParent(path, true);
  let file: FileHandle | undefined;
  try {
    if (name === undefined) throw new DispatchError("io_error", `${path.display} is a directory`);
    let created: FileId | undefined;
    try {
      file = await openLast(path, dir, name, O_WRONLY | O_CREAT | O_EXCL, 0o666);
      const info = await file.stat();
      created = { dev: info.dev, ino: info.ino };
    } catch (error) {
      if (codeOf(error) !== "EEXIST") throw error;
      file = await openLast(path, dir, name, O_WRONLY | O_NONBLOCK);
      // Checked on the open descriptor, before anything is changed.
      checkRegular(path, await file.stat(), access);
      await file.truncate(0);
    }
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await file.write(data, written, data.length - written, written);
      written += bytesWritten;
    }
    return { created };
  } catch (error) {
    throw failure(path, error);
  } finally {
    await file?.close();
    await dir.close();
  }
}

function kindOf(entry: Stats | Dirent): EntryKind {
  if (entry.isSymbolicLink()) return "symlink";
  if (entry.isDirectory()) return "directory";
  if (entry.isFile()) return "file";
  return "other";
}

/** The kind and size of the entry at `path` (a symlink is reported, not followed); undefined when missing. */
export async function statBeneath(
  path: ConfinedPath,
): Promise<{ kind: EntryKind; size: number } | undefined> {
  let opened: { dir: FileHandle; name: string | undefined };
  try {
    opened = await openParent(path, false);
  } catch (error) {
    if (DispatchError.isInstance(error) && error.code === "not_found") return undefined;
    throw error;
  }
  const { dir, name } = opened;
  try {
    const info = name === undefined ? await dir.stat() : await lstat(at(dir, name));
    return { kind: kindOf(info), size: info.size };
  } catch (error) {
    const code = codeOf(error);
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw failure(path, error);
  } finally {
    await dir.close();
  }
}

/** The entries of the directory at `path`. */
export async function readdirBeneath(path: ConfinedPath): Promise<Array<{ name: string; kind: EntryKind }>> {
  const { dir, name } = await openParent(path, false);
  let listed: FileHandle | undefined;
  try {
    listed = name === undefined ? dir : await openLast(path, dir, name, O_RDONLY | O_DIRECTORY);
    // Listing /proc/self/fd/<fd> lists the opened directory itself, whatever its path names now.
    const entries = await readdir(`/proc/self/fd/${listed.fd}`, { withFileTypes: true });
    return entries.map((entry) => ({ name: entry.name, kind: kindOf(entry) }));
  } catch (error) {
    throw failure(path, error);
  } finally {
    if (listed !== dir) await listed?.close();
    await dir.close();
  }
}
