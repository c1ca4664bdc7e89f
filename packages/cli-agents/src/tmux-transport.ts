import { mkdirSync } from "node:fs";
import { DispatchError } from "@dispatch/kernel";
import type { ExecutionBackend } from "@dispatch/workspace-tools";

/** What one tmux client call printed, and how it ended. */
export interface TmuxResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one tmux client command (argv after `tmux -S <socket>`) against one tmux server, with
 * optional stdin. Local servers run the client as a child process; a remote one runs it over SSH.
 */
export interface TmuxTransport {
  /** `null` for this machine, or the SSH host id. */
  readonly hostId: string | null;
  run(args: readonly string[], input?: string): Promise<TmuxResult>;
  /** Whether `program` is found on the host's PATH (a missing agent command is a clear error, not a dead pane). */
  hasProgram(program: string, path: string | undefined): Promise<boolean>;
  /** Creates a directory (and its parents) on the host: the workspace root the agent starts in. */
  mkdirp(dir: string): Promise<void>;
}

/** Longest one tmux client call may take before it is killed (a wedged server must not wedge a tick). */
const callTimeoutMs = 15_000;
/** sockaddr_un's path field is 108 bytes on Linux, one for the terminating NUL. */
const maxSocketPathBytes = 107;

/** Options of a local transport. */
export interface LocalTmuxOptions {
  /** The tmux program (on PATH or a path). */
  program: string;
  socketPath: string;
  /** The environment the tmux server starts with (and so every agent, plus its own `env`). */
  env: Record<string, string>;
}

/**
 * A tmux server on this machine, on its own socket: every call is `tmux -u -f /dev/null -S <socket> …`,
 * so the user's own server and `~/.tmux.conf` are never touched. Each call's child process is
 * awaited to its exit and killed after a timeout.
 */
export function localTmux(options: LocalTmuxOptions): TmuxTransport {
  if (Buffer.byteLength(options.socketPath) > maxSocketPathBytes) {
    throw new DispatchError(
      "invalid_config",
      `the tmux socket path ${options.socketPath} is longer than ${maxSocketPathBytes} bytes, which Unix sockets cannot use; set cliAgents.socketPath to a shorter path`,
    );
  }
  // -u: without a UTF-8 locale tmux prints control characters (our capture marks) and non-ASCII as "_"
  const prefix = [options.program, "-u", "-f", "/dev/null", "-S", options.socketPath];
  return {
    hostId: null,
    async run(args, input) {
      let child: ReturnType<typeof spawnTmux>;
      try {
        child = spawnTmux([...prefix, ...args], options.env, input);
      } catch (error) {
        throw new DispatchError(
          "tmux_unavailable",
          `could not run ${options.program}: ${error instanceof Error ? error.message : String(error)}; install Debian's tmux (apt-get install tmux) or set cliAgents.tmux`,
          { cause: error },
        );
      }
      const [stdout, stderr, code] = await Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
        child.exited,
      ]);
      return { code, stdout, stderr };
    },
    async hasProgram(program, path) {
      return Bun.which(program, { PATH: path ?? options.env.PATH ?? "" }) !== null;
    },
    async mkdirp(dir) {
      mkdirSync(dir, { recursive: true });
    },
  };
}

/** What a remote transport needs of an SSH execution backend (workspace-tools' `ExecutionBackend`). */
export type RemoteBackend = Pick<ExecutionBackend, "exec" | "spawn" | "mkdirp">;

/** Most one remote tmux call may print (a capture of every pane on that host). */
const maxRemoteOutputBytes = 16 * 1024 * 1024;

/**
 * A tmux server on an SSH host, driven through its execution backend: every call is one remote
 * command `tmux -u -f /dev/null -L <socketName> …` (its own socket there too). A call with input (a
 * paste) runs as a spawned session whose stdin gets the text, so its size is not bound by the exec
 * request.
 */
export function remoteTmux(options: {
  hostId: string;
  backend: RemoteBackend;
  socketName: string;
}): TmuxTransport {
  const { hostId, backend } = options;
  const prefix = ["tmux", "-u", "-f", "/dev/null", "-L", options.socketName];
  const exec = async (command: string): Promise<TmuxResult> => {
    const result = await backend.exec(command, {
      cwd: "/",
      timeoutMs: callTimeoutMs,
      maxOutputBytes: maxRemoteOutputBytes,
    });
    return { code: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr };
  };
  return {
    hostId,
    async run(args, input) {
      const command = [...prefix, ...args].map(shellQuote).join(" ");
      const result = input === undefined ? await exec(command) : await withInput(backend, command, input);
      if (result.code === 127 && /tmux: (command )?not found/.test(result.stderr)) {
        throw new DispatchError(
          "tmux_unavailable",
          `tmux is not installed on host "${hostId}": install it there (Debian: apt-get install tmux)`,
        );
      }
      return result;
    },
    async hasProgram(program, path) {
      const lookup = `command -v ${shellQuote(program)}`;
      const result = await exec(path === undefined ? lookup : `PATH=${shellQuote(path)} ${lookup}`);
      return result.code === 0;
    },
    mkdirp: (dir) => backend.mkdirp(dir),
  };
}

/** Runs `command` as a spawned session, writes `input` to its stdin, and collects what it printed. */
async function withInput(backend: RemoteBackend, command: string, input: string): Promise<TmuxResult> {
  const session = await backend.spawn(command, { root: "/", signal: AbortSignal.timeout(callTimeoutMs) });
  try {
    const decoder = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    const printed = { stdout: "", stderr: "" };
    const reading = (async () => {
      for await (const chunk of session.output)
        printed[chunk.stream] += decoder[chunk.stream].decode(chunk.data, { stream: true });
    })();
    await session.stdin.write(input);
    await session.stdin.end();
    const [exit] = await Promise.all([session.exited, reading]);
    return { code: exit.exitCode ?? 1, stdout: printed.stdout, stderr: printed.stderr };
  } finally {
    await session.close();
  }
}

/** Quotes one word for a POSIX shell. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

function spawnTmux(argv: string[], env: Record<string, string>, input: string | undefined) {
  return Bun.spawn(argv, {
    stdin: input === undefined ? "ignore" : new TextEncoder().encode(input),
    stdout: "pipe",
    stderr: "pipe",
    env,
    timeout: callTimeoutMs,
    killSignal: "SIGKILL",
  });
}

/**
 * True when tmux answered that no server (or no session) is there: nothing to list, every session
 * gone. A server whose last session just ended is still exiting, and says so in other words.
 */
export function isNoServer(result: TmuxResult): boolean {
  if (result.code === 0) return false;
  return noServerMessages.some((message) => result.stderr.includes(message));
}

const noServerMessages = [
  "no server running",
  "error connecting to",
  "server exited unexpectedly",
  "lost server",
  "no current target",
];

/** Throws a `tmux_failed` DispatchError naming what was asked and what tmux said, unless it succeeded. */
export function check(result: TmuxResult, what: string): TmuxResult {
  if (result.code === 0) return result;
  const said = result.stderr.trim() || `exit status ${result.code}`;
  throw new DispatchError("tmux_failed", `tmux could not ${what}: ${said}`);
}
