import { DispatchError } from "@dispatch/kernel";
import { confinePath, type ExecutionBackend } from "@dispatch/workspace-tools";
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
    async readFile(path, maxBytes) {
      try {
        return await pool.withSftp((sftp) => readFileOverSftp(sftp, path, maxBytes));
      } catch (error) {
        throw sftpError(error, path);
      }
    },
    async writeFile(path, data) {
      try {
        await pool.withSftp((sftp) => writeFileOverSftp(sftp, path, data));
      } catch (error) {
        throw sftpError(error, path);
      }
    },
    async stat(path) {
      try {
        const stats = await pool.withSftp((sftp) => sftpCalls.lstat(sftp, path));
        return { kind: kindOfMode(stats.mode), size: stats.size };
      } catch (error) {
        if (isNoSuchFile(error)) return undefined;
        throw sftpError(error, path);
      }
    },
    async readdir(path) {
      try {
        const entries = await pool.withSftp((sftp) => sftpCalls.readdir(sftp, path));
        return entries.map((entry) => ({ name: entry.filename, kind: kindOfMode(entry.attrs.mode) }));
      } catch (error) {
        throw sftpError(error, path);
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
