import { posix } from "node:path";
import { DispatchError } from "@dispatch/kernel";
import type { ConfinedPath, ExecutionBackend, FileId } from "./backend.ts";

export type { ConfinedPath } from "./backend.ts";

/** Is `path` equal to `root` or below it? Both absolute and normalised. */
function within(root: string, path: string): boolean {
  return path === root || path.startsWith(root === "/" ? "/" : `${root}/`);
}

function refuse(input: string, why: string): DispatchError {
  return new DispatchError("path_outside_workspace", `refused path "${input}": ${why}`, {
    details: { path: input },
  });
}

/**
 * Confines a tool's path argument to the workspace root. In order: NFC-normalise; refuse NUL bytes;
 * resolve against the root (relative paths) and refuse `..` escapes and absolute paths outside the
 * root; then resolve symlinks on the backend (`realpath -m`, so paths that do not exist yet work)
 * and refuse a target whose real path leaves the root's real path. Throws `path_outside_workspace`
 * or `invalid_request`. `rootId` is the root's pinned identity, carried along for the backend to check.
 */
export async function confinePath(
  backend: ExecutionBackend,
  root: string,
  input: string,
  rootId?: FileId,
): Promise<ConfinedPath> {
  if (!posix.isAbsolute(root)) {
    throw new DispatchError("invalid_request", `the workspace root "${root}" is not an absolute path`);
  }
  const path = input.normalize("NFC");
  if (path.includes("\0")) throw new DispatchError("invalid_request", `path "${input}" contains a NUL byte`);
  const lexicalRoot = posix.resolve(root.normalize("NFC"));
  const lexical = posix.resolve(lexicalRoot, path === "" ? "." : path);
  if (!within(lexicalRoot, lexical)) {
    throw refuse(
      input,
      posix.isAbsolute(path)
        ? `it is outside the workspace root ${root}`
        : `it escapes the workspace root ${root} through ".."`,
    );
  }
  // Keep the root exactly as configured (its bytes may not be NFC) and append the normalised rest.
  const rest = posix.relative(lexicalRoot, lexical);
  const target = rest === "" ? posix.resolve(root) : posix.join(posix.resolve(root), rest);
  const [realRoot, realTarget] = await Promise.all([backend.realpath(root), backend.realpath(target)]);
  if (!within(realRoot, realTarget)) {
    throw refuse(
      input,
      `it leads through a symbolic link to ${realTarget}, outside the workspace root ${root}`,
    );
  }
  const relative = posix.relative(realRoot, realTarget).normalize("NFC");
  return {
    root: realRoot,
    rootId,
    absolute: realTarget,
    relative,
    display: relative === "" ? "." : relative,
  };
}

/** The entry `name` (a path below `dir`, spelt as on disk, as a directory walk lists it) inside `dir`. */
export function childPath(dir: ConfinedPath, name: string): ConfinedPath {
  const relative = dir.relative === "" ? name.normalize("NFC") : `${dir.relative}/${name.normalize("NFC")}`;
  return { ...dir, absolute: posix.join(dir.absolute, name), relative, display: relative };
}
