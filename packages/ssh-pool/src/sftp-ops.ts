import { DispatchError, messageOf } from "@dispatch/kernel";
import type { EntryKind } from "@dispatch/workspace-tools";
import type { FileEntryWithStats, SFTPWrapper, Stats } from "ssh2";

/** sftp status codes (draft-ietf-secsh-filexfer) that mean "no such path". */
const NO_SUCH_FILE = 2;
const S_IFMT = 0o170000;

/** Kind of entry from a mode's file-type bits. */
export function kindOfMode(mode: number): EntryKind {
  switch (mode & S_IFMT) {
    case 0o100000:
      return "file";
    case 0o040000:
      return "directory";
    case 0o120000:
      return "symlink";
    default:
      return "other";
  }
}

/** True when an sftp error means the path does not exist (OpenSSH maps ENOENT and ENOTDIR to it). */
export function isNoSuchFile(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === NO_SUCH_FILE;
}

/** An sftp error as a DispatchError that names the path, like the local backend's. */
export function sftpError(error: unknown, path: string): DispatchError {
  if (DispatchError.isInstance(error)) return error;
  if (isNoSuchFile(error)) {
    return new DispatchError("not_found", `${path}: no such file or directory`, { cause: error });
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  return new DispatchError("io_error", `${path}: ${messageOf(error)}`, { cause: error, details: { code } });
}

/** Calls an ssh2 sftp method, turning its callback into a promise and a synchronous throw into a rejection. */
function call<T>(start: (done: (error: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      start((error, value) => (error ? reject(error) : resolve(value)));
    } catch (error) {
      reject(error);
    }
  });
}

/** Promise versions of the sftp calls the backend uses. */
export const sftpCalls = {
  open: (sftp: SFTPWrapper, path: string, flags: "r" | "w") =>
    call<Buffer>((done) => sftp.open(path, flags, done)),
  close: (sftp: SFTPWrapper, handle: Buffer) =>
    call<void>((done) => sftp.close(handle, (error) => done(error, undefined))),
  fstat: (sftp: SFTPWrapper, handle: Buffer) => call<Stats>((done) => sftp.fstat(handle, done)),
  lstat: (sftp: SFTPWrapper, path: string) => call<Stats>((done) => sftp.lstat(path, done)),
  readdir: (sftp: SFTPWrapper, path: string) =>
    call<FileEntryWithStats[]>((done) =>
      sftp.readdir(path, (error, list) => done(error, list as FileEntryWithStats[])),
    ),
  read: (
    sftp: SFTPWrapper,
    handle: Buffer,
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
  ) =>
    call<number>((done) =>
      sftp.read(handle, buffer, offset, length, position, (error, bytesRead) => done(error, bytesRead)),
    ),
  write: (sftp: SFTPWrapper, handle: Buffer, buffer: Buffer, position: number) =>
    call<void>((done) =>
      sftp.write(handle, buffer, 0, buffer.length, position, (error) => done(error, undefined)),
    ),
};

/** Reads at most `maxBytes` of `path`; `truncated` when the file is larger. Refuses directories. */
export async function readFileOverSftp(
  sftp: SFTPWrapper,
  path: string,
  maxBytes: number,
): Promise<{ data: Uint8Array; truncated: boolean }> {
  const handle = await sftpCalls.open(sftp, path, "r");
  try {
    const stats = await sftpCalls.fstat(sftp, handle);
    if (kindOfMode(stats.mode) === "directory") {
      throw new DispatchError("io_error", `${path}: is a directory`, { details: { code: "EISDIR" } });
    }
    const want = Math.min(stats.size, maxBytes);
    const data = Buffer.alloc(want);
    let filled = 0;
    while (filled < want) {
      const bytesRead = await sftpCalls.read(sftp, handle, data, filled, want - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return { data: new Uint8Array(data.buffer, data.byteOffset, filled), truncated: stats.size > maxBytes };
  } finally {
    await sftpCalls.close(sftp, handle).catch(() => {});
  }
}

/** Creates or replaces `path` with `data`; a failed close (data not flushed) is an error too. */
export async function writeFileOverSftp(sftp: SFTPWrapper, path: string, data: Uint8Array): Promise<void> {
  const handle = await sftpCalls.open(sftp, path, "w");
  try {
    if (data.length > 0) {
      await sftpCalls.write(sftp, handle, Buffer.from(data.buffer, data.byteOffset, data.byteLength), 0);
    }
  } catch (error) {
    await sftpCalls.close(sftp, handle).catch(() => {});
    throw error;
  }
  await sftpCalls.close(sftp, handle);
}
