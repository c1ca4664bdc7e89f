import { createServiceRef } from "@dispatch/kernel";
import type { ExecutionSession, SpawnOptions } from "./execution-session.ts";

/** What `exec` returns. */
export interface ExecResult {
  exitCode: number | null;
  /** The signal that ended the process, if any (for example `SIGKILL` after a timeout). */
  signal: string | null;
  stdout: string;
  stderr: string;
  /** True when stdout or stderr was cut at `maxOutputBytes`. */
  truncated: boolean;
  timedOut: boolean;
}

/** Options for `exec`. */
export interface ExecOptions {
  cwd: string;
  env?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  maxOutputBytes: number;
  /**
   * An argv the command's `bash -c` runs under (the sandbox): the backend runs
   * `[...launcher, "bash", "-c", command]` instead, in the same process group and with the same
   * environment. Absent: `bash -c command` itself.
   */
  launcher?: readonly string[];
}

/** Kind of a directory entry. */
export type EntryKind = "file" | "directory" | "symlink" | "other";

/** A file's identity on its machine: device and inode numbers. */
export interface FileId {
  dev: number;
  ino: number;
}

/** A path that passed confinement (see `confinePath`): what every file operation of a backend acts on. */
export interface ConfinedPath {
  /** The workspace root's real path when the path was checked. */
  root: string;
  /**
   * The root's identity, pinned when the workspace was loaded; a backend that can tell refuses to
   * operate when the root no longer has it. Undefined where the backend cannot tell (remote hosts).
   */
  rootId: FileId | undefined;
  /** The real path on the backend's machine: symlinks resolved, names as they are on disk. */
  absolute: string;
  /** NFC-normalised path relative to the real root; "" for the root itself. Also the lock key. */
  relative: string;
  /** How to show the path to the model: `relative`, or "." for the root. */
  display: string;
}

/** What a read or write may go through. */
export interface FileAccess {
  /**
   * Files the tools themselves created in this turn (`dev:ino` keys): the only regular files that
   * may be read or written while they have more than one hard link.
   */
  created?: ReadonlySet<string>;
}

/**
 * Where a workspace's tools run: the local machine, or a remote host over SSH. Paths are absolute
 * on the backend's own machine; tools confine them to the workspace root before calling.
 * Errors are DispatchErrors (`not_found`, `io_error`, `unavailable`).
 */
export interface ExecutionBackend {
  /** `local`, or the host id. */
  readonly id: string;
  /**
   * Resolves symlinks of the longest existing prefix of `path` (like `realpath -m`), on the backend's
   * side. A backend may also find a missing name under another Unicode normalisation on disk.
   */
  realpath(path: string): Promise<string>;
  /** The identity of the directory or file at `path` (links followed); undefined when missing or unknowable. */
  identify(path: string): Promise<FileId | undefined>;
  readFile(
    path: ConfinedPath,
    maxBytes: number,
    access?: FileAccess,
  ): Promise<{ data: Uint8Array; truncated: boolean }>;
  /**
   * Reads several files of the directory `dir` (names as its listing spells them), each at most
   * `maxBytes`; a file that cannot be read is undefined. For searches: one walk to the directory.
   */
  readFiles(
    dir: ConfinedPath,
    names: readonly string[],
    maxBytes: number,
    access?: FileAccess,
  ): Promise<Array<{ data: Uint8Array; truncated: boolean } | undefined>>;
  /** Creates or replaces a file, and its missing parent directories; says what it created. */
  writeFile(
    path: ConfinedPath,
    data: Uint8Array,
    access?: FileAccess,
  ): Promise<{ created: FileId | undefined }>;
  stat(path: ConfinedPath): Promise<{ kind: EntryKind; size: number } | undefined>;
  readdir(path: ConfinedPath): Promise<Array<{ name: string; kind: EntryKind }>>;
  /** Creates a directory and its parents by path: only for the workspace root, before anything is confined to it. */
  mkdirp(path: string): Promise<void>;
  /** Runs `command` with `bash -c` in its own process group; abort or timeout kills the whole group. */
  exec(command: string, options: ExecOptions): Promise<ExecResult>;
  /**
   * Starts `command` with `bash -c` as a long-lived session in its own process group, in `cwd`
   * confined to `root`, with the same scrubbed environment as `exec`. Resolves once the process
   * runs; rejects with `path_outside_workspace`, `not_found` (no such cwd), `cancelled` (signal
   * already aborted) or `unavailable`.
   */
  spawn(command: string, options: SpawnOptions): Promise<ExecutionSession>;
}

/**
 * The execution backends by host id, as contributed to `executionBackendsPoint`; workspaces without a
 * host use the local one.
 */
export interface ExecutionBackends {
  /** The backend for a workspace's `hostId` (null = local); throws `not_found` for an unknown host. */
  forHost(hostId: string | null): ExecutionBackend;
}

/** The service the `workspace-tools` extension provides. */
export const executionBackendsRef = createServiceRef<ExecutionBackends>("workspace-tools");
