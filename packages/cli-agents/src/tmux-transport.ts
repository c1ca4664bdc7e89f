import { DispatchError } from "@dispatch/kernel";

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
  /** `local` or the SSH host id. */
  readonly hostId: string | null;
  run(args: readonly string[], input?: string): Promise<TmuxResult>;
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
  };
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

/** True when tmux answered that no server runs on the socket (nothing to list, every session gone). */
export function isNoServer(result: TmuxResult): boolean {
  return (
    result.code !== 0 &&
    (result.stderr.includes("no server running") || result.stderr.includes("error connecting to"))
  );
}

/** Throws a `tmux_failed` DispatchError naming what was asked and what tmux said, unless it succeeded. */
export function check(result: TmuxResult, what: string): TmuxResult {
  if (result.code === 0) return result;
  const said = result.stderr.trim() || `exit status ${result.code}`;
  throw new DispatchError("tmux_failed", `tmux could not ${what}: ${said}`);
}
