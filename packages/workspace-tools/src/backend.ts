import { createServiceRef } from "@dispatch/kernel";

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
}

/** Kind of a directory entry. */
export type EntryKind = "file" | "directory" | "symlink" | "other";

/**
 * Where a workspace's tools run: the local machine, or a remote host over SSH. Paths are absolute
 * on the backend's own machine; tools confine them to the workspace root before calling.
 * Errors are DispatchErrors (`not_found`, `io_error`, `unavailable`).
 */
export interface ExecutionBackend {
  /** `local`, or the host id. */
  readonly id: string;
  /** Resolves symlinks of the longest existing prefix of `path` (like `realpath -m`), on the backend's side. */
  realpath(path: string): Promise<string>;
  readFile(path: string, maxBytes: number): Promise<{ data: Uint8Array; truncated: boolean }>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  stat(path: string): Promise<{ kind: EntryKind; size: number } | undefined>;
  readdir(path: string): Promise<Array<{ name: string; kind: EntryKind }>>;
  mkdirp(path: string): Promise<void>;
  /** Runs `command` with `bash -c` in its own process group; abort or timeout kills the whole group. */
  exec(command: string, options: ExecOptions): Promise<ExecResult>;
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
