import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { isRunning, makeSandbox, type Sandbox } from "../test/fixtures.ts";
import type { ExecutionSession, SpawnOptions } from "./execution-session.ts";
import { createLocalBackend } from "./local-backend.ts";
import { pidsOf, readAll, readUntil } from "./testing/index.ts";

const backend = createLocalBackend({ killGraceMs: 300, drainMs: 200 });
let box: Sandbox;
const sessions: ExecutionSession[] = [];
beforeEach(() => {
  box = makeSandbox();
});
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.close()));
  box.cleanup();
});

async function spawn(command: string, extra: Partial<SpawnOptions> = {}): Promise<ExecutionSession> {
  const session = await backend.spawn(command, { root: box.root, ...extra });
  sessions.push(session);
  return session;
}

describe("spawn on the local backend", () => {
  test("cat echoes what is written to stdin; ending stdin ends it with exit code 0", async () => {
    const session = await spawn("cat");
    expect(isRunning(session.pgid)).toBe(true);
    await session.stdin.write("hello\n");
    expect(await readUntil(session, "hello\n")).toBe("hello\n");
    await session.stdin.write(new TextEncoder().encode("bytes too\n"));
    expect(await readUntil(session, "\n")).toBe("bytes too\n");
    await session.stdin.end();
    expect(await session.exited).toEqual({ exitCode: 0, signal: null });
    expect(await readAll(session)).toEqual({ stdout: "", stderr: "" });
  });

  test("stdout and stderr are told apart; the exit code is reported", async () => {
    const session = await spawn("echo out; echo err >&2; exit 3");
    expect(await readAll(session)).toEqual({ stdout: "out\n", stderr: "err\n" });
    expect(await session.exited).toEqual({ exitCode: 3, signal: null });
  });

  test("kill ends the whole group, the background child included (`sleep 100 & wait`)", async () => {
    const session = await spawn('sleep 100 & echo "PIDS $$ $!"; wait');
    const pids = await pidsOf(session);
    expect(pids).toEqual([session.pgid, expect.any(Number)]);
    for (const pid of pids) expect(isRunning(pid)).toBe(true);
    await session.kill();
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
    expect(await session.exited).toEqual({ exitCode: null, signal: "SIGTERM" });
    await session.kill();
  });

  test("output written before a kill can still be read after it", async () => {
    const session = await spawn("echo before; sleep 100");
    for (let i = 0; i < 500 && session.bufferedBytes === 0; i++) await Bun.sleep(10);
    await session.kill();
    expect(await readAll(session)).toEqual({ stdout: "before\n", stderr: "" });
  });

  test("kill starts with the given signal, and SIGKILLs what ignores it", async () => {
    const hup = await spawn('echo "PIDS $$ $$"; sleep 100');
    await pidsOf(hup);
    await hup.kill("SIGHUP");
    expect(await hup.exited).toEqual({ exitCode: null, signal: "SIGHUP" });

    const stubborn = await spawn(`trap '' TERM; sleep 100 & echo "PIDS $$ $!"; wait; wait`);
    const pids = await pidsOf(stubborn);
    await stubborn.kill();
    expect(await stubborn.exited).toEqual({ exitCode: null, signal: "SIGKILL" });
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
  });

  test("aborting the signal kills the group", async () => {
    const controller = new AbortController();
    const session = await spawn('sleep 100 & echo "PIDS $$ $!"; wait', { signal: controller.signal });
    const pids = await pidsOf(session);
    controller.abort();
    expect(await session.exited).toEqual({ exitCode: null, signal: "SIGTERM" });
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
  });

  test("an already aborted signal starts nothing", async () => {
    const controller = new AbortController();
    controller.abort();
    const marker = join(box.root, "ran");
    await expect(spawn(`touch ${marker}`, { signal: controller.signal })).rejects.toMatchObject({
      code: "cancelled",
    });
    expect(existsSync(marker)).toBe(false);
  });

  test("a consumer that does not read holds the process at the bound; nothing is lost", async () => {
    const limit = 64 * 1024;
    const total = 20_000_000;
    const marker = join(box.root, "finished");
    const session = await spawn(`head -c ${total} /dev/zero; touch ${marker}`, { maxBufferedBytes: limit });
    for (let i = 0; i < 500 && session.bufferedBytes < limit; i++) await Bun.sleep(10);
    expect(session.bufferedBytes).toBeGreaterThanOrEqual(limit);
    // Give the writer every chance to run on; it must stay blocked on the full pipe.
    await Bun.sleep(300);
    const heldWhileIdle = session.bufferedBytes;
    expect(existsSync(marker)).toBe(false);
    expect(isRunning(session.pgid)).toBe(true);
    let received = 0;
    let most = 0;
    let largest = 0;
    for await (const chunk of session.output) {
      received += chunk.data.length;
      largest = Math.max(largest, chunk.data.length);
      most = Math.max(most, session.bufferedBytes);
    }
    expect(received).toBe(total);
    // The bound is the limit plus the one read in flight (Bun reads what the kernel's socket buffer
    // holds, a few hundred KiB here): far below the 20 MB written.
    expect(largest).toBeLessThanOrEqual(1024 * 1024);
    expect(heldWhileIdle).toBeLessThan(limit + largest);
    expect(most).toBeLessThan(limit + largest);
    expect(await session.exited).toEqual({ exitCode: 0, signal: null });
    expect(existsSync(marker)).toBe(true);
  });

  test("background processes left by a finished shell are ended, and the output still ends", async () => {
    const session = await spawn("sleep 100 & echo $!");
    const { stdout } = await readAll(session);
    expect(await session.exited).toEqual({ exitCode: 0, signal: null });
    expect(isRunning(Number(stdout.trim()))).toBe(false);
  });

  test("a process that left the group and holds stdout does not keep the output open", async () => {
    const session = await spawn("setsid sleep 100 & echo $!");
    const { stdout } = await readAll(session);
    const pid = Number(stdout.trim());
    try {
      expect(pid).toBeGreaterThan(0);
      expect(await session.exited).toEqual({ exitCode: 0, signal: null });
    } finally {
      if (pid > 0) process.kill(pid, "SIGKILL");
    }
  });

  test("stdin refuses writes after end and once the process is gone", async () => {
    const session = await spawn("cat");
    await session.stdin.end();
    await expect(session.stdin.write("late")).rejects.toMatchObject({ code: "invalid_request" });
    await session.exited;
    const exited = await spawn("exit 0");
    await exited.exited;
    await expect(exited.stdin.write("x")).rejects.toMatchObject({ code: "session_ended" });
    await exited.stdin.end();
  });

  test("close kills a running session and releases it; async disposal does the same", async () => {
    const session = await spawn('sleep 100 & echo "PIDS $$ $!"; wait');
    const pids = await pidsOf(session);
    await session.close();
    await session.close();
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
    expect(await readAll(session)).toEqual({ stdout: "", stderr: "" });

    let pgid = 0;
    {
      await using disposable = await backend.spawn("sleep 100", { root: box.root });
      pgid = disposable.pgid;
      expect(isRunning(pgid)).toBe(true);
    }
    expect(isRunning(pgid)).toBe(false);
  });

  test("the environment is scrubbed of the host's secrets, as for exec", async () => {
    process.env.DISPATCH_TOKEN = "dispatch-secret";
    process.env.ANTHROPIC_API_KEY = "provider-secret";
    try {
      const session = await spawn("env", { env: { EXTRA: "given" } });
      const { stdout } = await readAll(session);
      expect(stdout).not.toContain("dispatch-secret");
      expect(stdout).not.toContain("provider-secret");
      expect(stdout).toContain("EXTRA=given");
      expect(stdout).toMatch(/^PATH=/m);
    } finally {
      delete process.env.DISPATCH_TOKEN;
      delete process.env.ANTHROPIC_API_KEY;
    }
  });
});

describe("spawn confinement", () => {
  test("runs in the root, or in a cwd within it", async () => {
    mkdirSync(join(box.root, "sub"));
    expect((await readAll(await spawn("pwd"))).stdout).toBe(`${box.root}\n`);
    expect((await readAll(await spawn("pwd", { cwd: "sub" }))).stdout).toBe(`${join(box.root, "sub")}\n`);
    expect((await readAll(await spawn("pwd", { cwd: join(box.root, "sub") }))).stdout).toBe(
      `${join(box.root, "sub")}\n`,
    );
  });

  test("a cwd outside the root, by `..`, absolute path or symlink, is refused before anything runs", async () => {
    symlinkSync(box.outside, join(box.root, "out"));
    const marker = join(box.outside, "ran");
    for (const cwd of ["..", box.outside, "out"]) {
      await expect(spawn(`touch ${marker}`, { cwd })).rejects.toMatchObject({
        code: "path_outside_workspace",
      });
    }
    expect(existsSync(marker)).toBe(false);
  });

  test("a missing cwd is not_found, naming it", async () => {
    const error = spawn("true", { cwd: "missing" });
    await expect(error).rejects.toMatchObject({ code: "not_found" });
    await expect(error).rejects.toThrow(join(box.root, "missing"));
  });
});
