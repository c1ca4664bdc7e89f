import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isRunning, makeSandbox, type Sandbox } from "../test/fixtures.ts";
import type { ExecOptions } from "./backend.ts";
import { execLocal } from "./local-exec.ts";

const tuning = { killGraceMs: 300, drainMs: 200 };
let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.cleanup());

const options = (extra: Partial<ExecOptions> = {}): ExecOptions => ({
  cwd: box.root,
  timeoutMs: 20000,
  maxOutputBytes: 65536,
  ...extra,
});

/** Waits (bounded) until the command has written its pids, then returns them. */
async function pidsFrom(file: string): Promise<number[]> {
  for (let i = 0; i < 500; i++) {
    if (existsSync(file)) {
      const text = readFileSync(file, "utf8");
      if (text.endsWith("\n")) return text.trim().split(/\s+/).map(Number);
    }
    await Bun.sleep(10);
  }
  throw new Error(`${file} never appeared`);
}

describe("execLocal", () => {
  test("runs in cwd and reports exit code, stdout and stderr", async () => {
    const result = await execLocal("pwd; echo oops >&2; exit 3", options(), tuning);
    expect(result).toEqual({
      exitCode: 3,
      signal: null,
      stdout: `${box.root}\n`,
      stderr: "oops\n",
      truncated: false,
      timedOut: false,
    });
  });

  test("caps stdout at maxOutputBytes and says so", async () => {
    const result = await execLocal(
      "head -c 200000 /dev/zero | tr '\\0' a",
      options({ maxOutputBytes: 1024 }),
      tuning,
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe("a".repeat(1024));
    expect(result.truncated).toBe(true);
  });

  test("a timeout kills the shell and its grandchild (`sleep 100 & wait`)", async () => {
    const result = await execLocal('sleep 100 & echo "$$ $!"; wait', options({ timeoutMs: 300 }), tuning);
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
    expect(result.signal).toBe("SIGTERM");
    const pids = result.stdout.trim().split(" ").map(Number);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
  });

  test("abort kills the whole group, grandchildren of grandchildren included", async () => {
    const controller = new AbortController();
    const pidFile = join(box.root, "pids");
    // bash -> bash -> sleep: the inner sleep is two levels below the process we started.
    const run = execLocal(
      `bash -c 'sleep 100 & echo "$$ $!" > ${pidFile}; wait' & wait`,
      options({ signal: controller.signal }),
      tuning,
    );
    const pids = await pidsFrom(pidFile);
    for (const pid of pids) expect(isRunning(pid)).toBe(true);
    controller.abort();
    const result = await run;
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBeNull();
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
  });

  test("processes that ignore SIGTERM get SIGKILL after the grace period", async () => {
    const result = await execLocal(
      `trap '' TERM; sleep 100 & echo "$$ $!"; wait; wait`,
      options({ timeoutMs: 300 }),
      tuning,
    );
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe("SIGKILL");
    for (const pid of result.stdout.trim().split(" ").map(Number)) expect(isRunning(pid)).toBe(false);
  });

  test("background processes left behind by a finished shell are ended", async () => {
    const result = await execLocal("sleep 100 >/dev/null 2>&1 & echo $!", options(), tuning);
    expect(result.exitCode).toBe(0);
    const pid = Number(result.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    expect(isRunning(pid)).toBe(false);
  });

  test("a background process holding stdout does not hang the call", async () => {
    const result = await execLocal("sleep 100 & echo $!", options(), tuning);
    expect(result.exitCode).toBe(0);
    expect(isRunning(Number(result.stdout.trim()))).toBe(false);
  });

  test("the environment is scrubbed of the host's secrets", async () => {
    process.env.DISPATCH_TOKEN = "dispatch-secret";
    process.env.ANTHROPIC_API_KEY = "provider-secret";
    process.env.WT_PLAIN = "kept";
    try {
      const result = await execLocal("env", options({ env: { EXTRA: "given" } }), tuning);
      expect(result.stdout).not.toContain("dispatch-secret");
      expect(result.stdout).not.toContain("provider-secret");
      expect(result.stdout).toContain("WT_PLAIN=kept");
      expect(result.stdout).toContain("EXTRA=given");
      expect(result.stdout).toMatch(/^PATH=/m);
    } finally {
      delete process.env.DISPATCH_TOKEN;
      delete process.env.ANTHROPIC_API_KEY;
      delete process.env.WT_PLAIN;
    }
  });

  test("an already aborted signal runs nothing", async () => {
    const controller = new AbortController();
    controller.abort();
    const marker = join(box.root, "ran");
    const result = await execLocal(`touch ${marker}`, options({ signal: controller.signal }), tuning);
    expect(result.exitCode).toBeNull();
    expect(existsSync(marker)).toBe(false);
  });

  test("a missing cwd is an error, not a hang", async () => {
    await expect(execLocal("true", options({ cwd: join(box.root, "missing") }), tuning)).rejects.toThrow();
  });
});

test("a process that left the group but holds stdout does not hang the call", async () => {
  // setsid puts sleep in a new session, out of reach of the group kill: the call still returns.
  const result = await execLocal("setsid sleep 100 & echo $!", options(), tuning);
  const pid = Number(result.stdout.trim());
  try {
    expect(result.exitCode).toBe(0);
    expect(pid).toBeGreaterThan(0);
  } finally {
    if (pid > 0) process.kill(pid, "SIGKILL");
  }
});
