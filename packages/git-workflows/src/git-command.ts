import { DispatchError, messageOf } from "@dispatch/kernel";
import type { ExecutionBackend } from "@dispatch/workspace-tools";

/** What a git command printed. */
export interface GitOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Options of one git command. */
export interface GitRunOptions {
  /** Where git runs (`-C` is not used, so a missing directory fails loudly). */
  cwd: string;
  /** Exit codes that are answers, not failures (`diff --quiet` answers 1 for "differs"). */
  allowExit?: readonly number[];
  signal?: AbortSignal;
  /** Overrides `git.timeoutMs` for this command. */
  timeoutMs?: number;
}

/** Largest output kept from one git command (logs and porcelain listings are small). */
const maxOutputBytes = 4 * 1024 * 1024;
/** Longest stretch of git's own message carried in an error. */
const maxMessageChars = 4000;

/**
 * The environment every git command gets on top of the backend's scrubbed one: never a prompt (a
 * push that needs a password fails instead of hanging), stable English messages, no optional
 * index locks from read-only commands that run beside a turn's own git.
 */
const gitEnv: Record<string, string> = {
  GIT_TERMINAL_PROMPT: "0",
  GIT_OPTIONAL_LOCKS: "0",
  GCM_INTERACTIVE: "never",
  LC_ALL: "C",
};

/**
 * Settings passed to every command: no automatic gc or maintenance in the middle of a run (they
 * take repository-wide locks), and no signing prompt from a user's `commit.gpgsign`.
 */
const gitSettings = ["-c", "gc.auto=0", "-c", "maintenance.auto=false", "-c", "commit.gpgsign=false"];

/** Quotes one word for `bash -c`. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs git as a child process on an execution backend (the local machine, or a remote host over
 * the SSH pool), in its own process group, killed at the timeout. A failure is a `git_failed`
 * DispatchError carrying git's own message.
 */
export class GitRunner {
  readonly #backend: ExecutionBackend;
  readonly #timeoutMs: number;

  constructor(backend: ExecutionBackend, timeoutMs: number) {
    this.#backend = backend;
    this.#timeoutMs = timeoutMs;
  }

  /** The backend the commands run on. */
  get backend(): ExecutionBackend {
    return this.#backend;
  }

  /** Runs `git <args>`; resolves for exit 0 and the allowed codes, else throws `git_failed`. */
  async run(args: readonly string[], options: GitRunOptions): Promise<GitOutput> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const command = `exec git ${[...gitSettings, ...args].map(shellWord).join(" ")}`;
    const what = `git ${args
      .filter((a) => !a.startsWith("-"))
      .slice(0, 2)
      .join(" ")}`;
    let result: Awaited<ReturnType<ExecutionBackend["exec"]>>;
    try {
      result = await this.#backend.exec(command, {
        cwd: options.cwd,
        env: gitEnv,
        timeoutMs,
        maxOutputBytes,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      throw new DispatchError("git_failed", `${what} could not run in ${options.cwd}: ${messageOf(error)}`, {
        cause: error,
        details: { args, cwd: options.cwd, host: this.#backend.id },
      });
    }
    const exitCode = result.exitCode ?? -1;
    if (result.timedOut) {
      throw new DispatchError(
        "git_failed",
        `${what} timed out after ${timeoutMs} ms (git.timeoutMs) in ${options.cwd}${tail(result.stderr)}`,
        { details: { args, cwd: options.cwd, timedOut: true } },
      );
    }
    if (exitCode !== 0 && !(options.allowExit ?? []).includes(exitCode)) {
      const message = gitMessage(result.stderr, result.stdout);
      throw new DispatchError(
        "git_failed",
        `${what} failed (${result.signal ?? `exit ${exitCode}`}) in ${options.cwd}: ${message}`,
        { details: { args, cwd: options.cwd, exitCode, gitMessage: message } },
      );
    }
    return { exitCode, stdout: result.stdout, stderr: result.stderr };
  }
}

/** Git's own words: stderr (where git reports), else stdout, trimmed to its last few thousand characters. */
export function gitMessage(stderr: string, stdout: string): string {
  const text = (stderr.trim() || stdout.trim() || "no output").replaceAll("\r", "");
  return text.length <= maxMessageChars ? text : `…${text.slice(-maxMessageChars)}`;
}

function tail(stderr: string): string {
  const text = stderr.trim();
  return text === "" ? "" : `: ${gitMessage(text, "")}`;
}
