import { posix } from "node:path";
import { DispatchError } from "@dispatch/kernel";
import { childPath, confinePath, type ExecutionBackend } from "@dispatch/workspace-tools";
import { shellQuote } from "./remote-command.ts";
import {
  isNoSuchFile,
  kindOfMode,
  readFileOverSftp,
  sftpCalls,
  sftpError,
  writeFileOverSftp,
} from "./sftp-ops.ts";
import type { SshPool } from "./ssh-pool.ts";

/** Bound on the helper commands (realpath, mkdir) the backend runs itself. */
const HELPER_TIMEOUT_MS = 30_000;

/**
 * The execution backend of a remote host: commands run through the pool's exec channels, files go
 * over its sftp session, and `realpath` resolves on the remote side (`realpath -m`), so the tools'
 * confinement sees the remote file system's symlinks.
 */
export function createRemoteBackend(pool: SshPool): ExecutionBackend {
  const helper = async (script: string, path: string): Promise<string> => {
    const result = await pool.run(script, { timeoutMs: HELPER_TIMEOUT_MS, maxOutputBytes: 64 * 1024 });
    if (result.exitCode !== 0) {
      const message =
        result.stderr.trim() || (result.timedOut ? "timed out" : `exit code ${result.exitCode}`);
      const code = /No such file|Not a directory/.test(message) ? "not_found" : "io_error";
      throw new DispatchError(code, `${path}: ${message}`, { details: { hostId: pool.hostId } });
    }
    return result.stdout;
  };
  const backend: ExecutionBackend = {
    id: pool.hostId,
    async realpath(path) {
      // -z ends the answer with NUL instead of a newline, so names with newlines survive.
      const out = await helper(`realpath -m -z -- ${shellQuote(path)}`, path);
      return out.endsWith("\0") ? out.slice(0, -1) : out;
    },
    // Without a root descriptor on the far side these act by path: a remote workspace is confined
    // by check-then-use, and its root is not pinned (see notes/decisions.md).
    async identify() {
      return undefined;
    },
    async readFile({ absolute }, maxBytes) {
      try {
        return await pool.withSftp((sftp) => readFileOverSftp(sftp, absolute, maxBytes));
      } catch (error) {
        throw sftpError(error, absolute);
      }
    },
    readFiles(dir, names, maxBytes) {
      return Promise.all(
        names.map((name) => backend.readFile(childPath(dir, name), maxBytes).catch(() => undefined)),
      );
    },
    async writeFile({ absolute }, data) {
      const write = () => pool.withSftp((sftp) => writeFileOverSftp(sftp, absolute, data));
      try {
        await write();
      } catch (error) {
        if (!isNoSuchFile(error)) throw sftpError(error, absolute);
        // Missing parents: made only then, so a plain write costs no extra round trip.
        await helper(`mkdir -p -- ${shellQuote(posix.dirname(absolute))}`, absolute);
        try {
          await write();
        } catch (retryError) {
          throw sftpError(retryError, absolute);
        }
      }
      return { created: undefined };
    },
    async stat({ absolute }) {
      try {
        const stats = await pool.withSftp((sftp) => sftpCalls.lstat(sftp, absolute));
        return { kind: kindOfMode(stats.mode), size: stats.size };
      } catch (error) {
        if (isNoSuchFile(error)) return undefined;
        throw sftpError(error, absolute);
      }
    },
    async readdir({ absolute }) {
      try {
        const entries = await pool.withSftp((sftp) => sftpCalls.readdir(sftp, absolute));
        return entries.map((entry) => ({ name: entry.filename, kind: kindOfMode(entry.attrs.mode) }));
      } catch (error) {
        throw sftpError(error, absolute);
      }
    },
    async mkdirp(path) {
      await helper(`mkdir -p -- ${shellQuote(path)}`, path);
    },
    exec(command, options) {
      return pool.exec(command, options);
    },
    async spawn(command, options) {
      const cwd = await confinePath(backend, options.root, options.cwd ?? ".");
      return pool.spawn(command, { ...options, cwd: cwd.absolute });
    },
  };
  return backend;
}
