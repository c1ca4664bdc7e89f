import { DispatchError } from "@dispatch/kernel";

/** Quotes `value` for a POSIX shell: single quotes, with each `'` written as `'\''`. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The byte that brackets the process-group id the wrapper prints first on stderr. */
export const PGID_MARK = 0x1e;

/**
 * The script sent to sshd for one command. sshd runs it with the login shell, which OpenSSH has
 * made a session and process-group leader, so `$$` is the group id of everything the command
 * starts (unless it changes group itself). Once in `cwd`, the wrapper prints that id between two
 * 0x1E bytes on stderr, so abort and timeout can kill the whole group with a second command; no
 * marker means the wrapper failed before the command started (a missing `cwd`). After the command
 * the wrapper sends SIGTERM to what it left running in the group (ignoring it itself), as the
 * local backend does, so nothing outlives the call and holds the channel open. With `stdin` the
 * command reads the channel's data (for sessions); otherwise it reads /dev/null. With `launcher`
 * (a sandbox) the command's `bash -c` runs under that argv.
 */
export function buildRemoteCommand(
  command: string,
  cwd: string,
  env: Record<string, string> = {},
  options: { stdin?: boolean; launcher?: readonly string[] } = {},
): string {
  const launcher = options.launcher ?? [];
  if (command.includes("\0") || cwd.includes("\0") || launcher.some((arg) => arg.includes("\0"))) {
    throw new DispatchError("invalid_request", "a command or working directory cannot contain NUL bytes");
  }
  const parts = [`cd -- ${shellQuote(cwd)}`, `printf '\\036%s\\036' "$$" >&2`];
  for (const [name, value] of Object.entries(env)) {
    if (!envName.test(name)) {
      throw new DispatchError("invalid_request", `invalid environment variable name ${JSON.stringify(name)}`);
    }
    if (value.includes("\0")) {
      throw new DispatchError("invalid_request", `environment variable ${name} contains a NUL byte`);
    }
    parts.push(`export ${name}=${shellQuote(value)}`);
  }
  parts.push(
    // A command of its own gets empty stdin; a session's reads the channel.
    `{ ${launcher.map((arg) => `${shellQuote(arg)} `).join("")}bash -c ${shellQuote(command)}${options.stdin ? "" : " </dev/null"}; s=$?; trap '' TERM; kill -TERM -$$ 2>/dev/null; exit $s; }`,
  );
  return parts.join(" && ");
}

/** Defines `alive` for group `$p`: true while a member runs (zombies, which run nothing, do not count where `ps` exists). */
const aliveFunction =
  "alive() { if command -v ps >/dev/null 2>&1; then ps -e -o pgid= -o stat= | awk -v p=$p '$1 == p && $2 !~ /^Z/ { f = 1 } END { exit !f }'; else kill -0 -$p 2>/dev/null; fi; }";
/** Waits, bounded at 5 s as locally, until nothing of group `$p` runs: SIGKILL is not instant either. */
const awaitGroupEnd = "i=0; while alive && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.05; done";

/**
 * A command that kills process group `pgid` (or the process itself when it leads no group) and
 * returns once nothing of the group runs, so a caller that waited for it finds nothing left.
 */
export function killGroupCommand(pgid: number): string {
  if (!Number.isInteger(pgid) || pgid <= 1)
    throw new RangeError(`Expected \`pgid\` to be an integer > 1, got \`${pgid}\``);
  return [
    `p=${pgid}`,
    aliveFunction,
    `kill -KILL -$p 2>/dev/null || { kill -KILL $p 2>/dev/null; exit 0; }`,
    awaitGroupEnd,
    "true",
  ].join("; ");
}

/**
 * A command that ends process group `pgid` as the local backend's `terminateGroup` does: `signal`
 * to the group, then SIGKILL to whatever still runs after `graceMs`. Zombies do not count as running
 * (where `ps` exists), since an unreaped one runs nothing. Ends when the group is gone.
 */
export function terminateGroupCommand(pgid: number, signal: string, graceMs: number): string {
  if (!Number.isInteger(pgid) || pgid <= 1)
    throw new RangeError(`Expected \`pgid\` to be an integer > 1, got \`${pgid}\``);
  const name = signal.replace(/^SIG/, "");
  if (!/^[A-Z0-9]+$/.test(name))
    throw new RangeError(`Expected \`signal\` to be a signal name, got \`${signal}\``);
  const steps = Math.max(1, Math.ceil(graceMs / 50));
  return [
    `p=${pgid}`,
    aliveFunction,
    `kill -${name} -$p 2>/dev/null || exit 0`,
    "i=0",
    `while alive && [ $i -lt ${steps} ]; do i=$((i + 1)); sleep 0.05; done`,
    `if alive; then kill -KILL -$p 2>/dev/null; ${awaitGroupEnd}; fi`,
    "true",
  ].join("; ");
}
