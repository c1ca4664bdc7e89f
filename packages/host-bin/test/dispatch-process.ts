import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

/** The real entry point, as bin/dispatch runs it. */
export const mainPath = resolve(import.meta.dir, "../src/main.ts");
/** The script a user runs; it bootstraps Bun itself. */
export const dispatchBin = resolve(import.meta.dir, "../../../bin/dispatch");
export const fixturesDir = resolve(import.meta.dir, "fixtures");

/** PATH without any directory that holds a `bun`, so a child proves bin/dispatch finds Bun by itself. */
export function pathWithoutBun(): string {
  return (process.env.PATH ?? "")
    .split(":")
    .filter((dir) => dir !== "" && !existsSync(join(dir, "bun")))
    .join(":");
}

/** A temp directory removed by `cleanup()`. */
export function tempDir(prefix = "dispatch-bin-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
const made: string[] = [];
const children: Subprocess[] = [];

/** Kills leftover children and removes temp dirs; call from afterEach. */
export function cleanup(): void {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Writes `config` as JSON (or raw text) into `dir`; returns the file path. */
export function writeConfig(dir: string, config: unknown, name = "dispatch.json"): string {
  const path = join(dir, name);
  writeFileSync(path, typeof config === "string" ? config : JSON.stringify(config, null, 2));
  return path;
}

/** The environment children get: the caller's, minus anything that would leak Dispatch settings in. */
function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("DISPATCH_")) env[k] = v;
  }
  return { ...env, DISPATCH_LOG_LEVEL: "info", ...extra };
}

/** A running `dispatch` child with its stderr collected line by line. */
export class DispatchProcess {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  readonly lines: string[] = [];
  readonly #waiters = new Set<() => void>();
  readonly exited: Promise<number>;
  stdout = "";

  /** `command` defaults to this Bun running main.ts; pass `[dispatchBin]` to go through the script. */
  constructor(
    args: string[],
    env: Record<string, string> = {},
    cwd?: string,
    command: string[] = [process.execPath, mainPath],
  ) {
    const proc = Bun.spawn([...command, ...args], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      env: childEnv(env),
      cwd: cwd ?? process.cwd(),
    });
    this.proc = proc;
    children.push(proc);
    const collected = this.#collect();
    // exit counts once both pipes are drained, so assertions on the output never race the exit
    this.exited = Promise.all([proc.exited, this.#readStdout(), collected]).then(([code]) => code);
  }

  async #readStdout(): Promise<void> {
    this.stdout = await new Response(this.proc.stdout).text();
  }

  async #collect(): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of this.proc.stderr) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        this.lines.push(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf("\n");
      }
      for (const wake of this.#waiters) wake();
    }
    if (buffered) this.lines.push(buffered);
    for (const wake of this.#waiters) wake();
  }

  /** All of stderr so far. */
  get stderr(): string {
    return this.lines.join("\n");
  }

  /** Stderr lines that are JSON log records. */
  records(): Array<Record<string, unknown>> {
    return this.lines.flatMap((line) => {
      try {
        const value = JSON.parse(line);
        return typeof value === "object" && value !== null ? [value as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }

  /** Resolves with the first log record matching `match`; rejects after `timeoutMs` or if the process exits first. */
  async waitForRecord(
    match: (record: Record<string, unknown>) => boolean,
    timeoutMs = 15_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.records().find(match);
      if (found) return found;
      if (this.proc.exitCode !== null) {
        throw new Error(
          `dispatch exited with ${this.proc.exitCode} before the expected log line:\n${this.stderr}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a log line; stderr so far:\n${this.stderr}`);
      await this.#nextChange(Math.min(left, 250));
    }
  }

  /** Resolves on the next stderr chunk, or after `ms` (the exit check needs a poll). */
  #nextChange(ms: number): Promise<void> {
    return new Promise((wake) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        wake();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  /** The base URL from transport-http's "listening" line, once the host has logged "ready". */
  async url(): Promise<string> {
    const record = await this.waitForRecord((r) => r.msg === "listening" && typeof r.url === "string");
    await this.waitForRecord((r) => r.msg === "ready");
    return record.url as string;
  }

  /** The exit code, or a rejection after `timeoutMs`. */
  async exitWithin(timeoutMs: number): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`dispatch did not exit within ${timeoutMs} ms:\n${this.stderr}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Starts `dispatch serve` on a free port with a fresh data dir, plus any extra args. */
export function serveProcess(
  options: { config?: string; args?: string[]; env?: Record<string, string> } = {},
): {
  child: DispatchProcess;
  dataDir: string;
} {
  const dataDir = tempDir();
  const args = ["serve", "--data-dir", dataDir, "--port", "0", ...(options.args ?? [])];
  if (options.config !== undefined) args.push("--config", options.config);
  return { child: new DispatchProcess(args, options.env), dataDir };
}

/** Reads `<dataDir>/status.json`. */
export async function readStatus(dataDir: string): Promise<Record<string, unknown>> {
  return (await Bun.file(join(dataDir, "status.json")).json()) as Record<string, unknown>;
}
