import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExecutionBackend, ExecutionSession, SpawnOptions } from "@dispatch/workspace-tools";
import { pidsOf, readAll, readUntil } from "@dispatch/workspace-tools/testing";
import { createRemoteBackend } from "../src/remote-backend.ts";
import type { SshPool } from "../src/ssh-pool.ts";
import { type SshdFixture, startSshd } from "../src/testing/index.ts";
import { guardUncaught, hostFor, Pools, rejectionOf, waitFor } from "./helpers.ts";

let sshd: SshdFixture;
let dir: string;
let root: string;
const pools = new Pools();
const sessions: ExecutionSession[] = [];

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(() => sshd?.dispose());
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "ssh-spawn-")));
  root = join(dir, "root");
  mkdirSync(root);
  mkdirSync(join(dir, "outside"));
});
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.close()));
  await pools.disposeAll();
  if (!sshd.running) await sshd.start();
  rmSync(dir, { recursive: true, force: true });
});

function remote(overrides: Record<string, unknown> = {}): { backend: ExecutionBackend; pool: SshPool } {
  const pool = pools.make(hostFor(sshd, overrides));
  return { backend: createRemoteBackend(pool), pool };
}

async function spawnOn(
  backend: ExecutionBackend,
  command: string,
  extra: Partial<SpawnOptions> = {},
): Promise<ExecutionSession> {
  const session = await backend.spawn(command, { root, ...extra });
  sessions.push(session);
  return session;
}

/**
 * Which of `pids`, and which members of group `pgid`, still run on the host, asked through a
 * second exec over the pool (zombies run nothing and do not count).
 */
async function runningOnHost(backend: ExecutionBackend, pids: number[], pgid: number): Promise<string> {
  const script = [
    `for p in ${pids.join(" ")}; do s=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f1); [ -n "$s" ] && [ "$s" != Z ] && echo "pid $p $s"; done`,
    `ps -e -o pgid= -o pid= -o stat= | awk -v g=${pgid} '$1 == g && $3 !~ /^Z/ { print "group member " $2 }'`,
    "true",
  ].join("; ");
  const result = await backend.exec(script, { cwd: "/", timeoutMs: 10_000, maxOutputBytes: 65536 });
  expect(result.exitCode).toBe(0);
  return result.stdout;
}

describe("spawn over SSH", () => {
  test("cat echoes what is written to stdin; ending stdin ends it with exit code 0", async () => {
    const { backend } = remote();
    const session = await spawnOn(backend, "cat");
    expect(session.pgid).toBeGreaterThan(1);
    await session.stdin.write("hello\n");
    expect(await readUntil(session, "hello\n")).toBe("hello\n");
    await session.stdin.write(new TextEncoder().encode("bytes too\n"));
    expect(await readUntil(session, "\n")).toBe("bytes too\n");
    await session.stdin.end();
    expect(await session.exited).toEqual({ exitCode: 0, signal: null });
    expect(await readAll(session)).toEqual({ stdout: "", stderr: "" });
  });

  test("stdout and stderr are told apart (no group marker in stderr); cwd, env and exit code", async () => {
    const { backend } = remote();
    mkdirSync(join(root, "sub"));
    const session = await spawnOn(backend, 'echo "$GREETING from $(pwd)"; echo err >&2; exit 3', {
      cwd: "sub",
      env: { GREETING: "it's me" },
    });
    expect(await readAll(session)).toEqual({
      stdout: `it's me from ${join(root, "sub")}\n`,
      stderr: "err\n",
    });
    expect(await session.exited).toEqual({ exitCode: 3, signal: null });
  });

  test("kill ends the remote process group, the background child included (`sleep 100 & wait`)", async () => {
    const { backend, pool } = remote();
    const session = await spawnOn(backend, 'sleep 100 & echo "PIDS $$ $!"; wait');
    const pids = await pidsOf(session);
    expect(pids).toHaveLength(2);
    expect(await runningOnHost(backend, pids, session.pgid)).toContain(`pid ${pids[1]}`);
    await session.kill();
    expect(await session.exited).toEqual({ exitCode: null, signal: "SIGTERM" });
    expect(await runningOnHost(backend, pids, session.pgid)).toBe("");
    await session.close();
    await waitFor(() => pool.stats().channelsInUse === 0, "the session's channel to be released");
  });

  test("output written before a kill can still be read after it", async () => {
    const { backend } = remote();
    const session = await spawnOn(backend, 'echo before; echo "PIDS $$ $$"; sleep 100');
    await waitFor(() => session.bufferedBytes > 0, "the first output");
    await session.kill();
    expect((await readAll(session)).stdout).toStartWith("before\n");
  });

  test("what ignores the first signal gets SIGKILL", async () => {
    const { backend } = remote();
    const session = await spawnOn(backend, `trap '' TERM; sleep 100 & echo "PIDS $$ $!"; wait; wait`);
    const pids = await pidsOf(session);
    await session.kill();
    expect(await runningOnHost(backend, pids, session.pgid)).toBe("");
  });

  test("aborting the signal kills the remote group", async () => {
    const { backend } = remote();
    const controller = new AbortController();
    const session = await spawnOn(backend, 'sleep 100 & echo "PIDS $$ $!"; wait', {
      signal: controller.signal,
    });
    const pids = await pidsOf(session);
    controller.abort();
    expect(await session.exited).toEqual({ exitCode: null, signal: "SIGTERM" });
    expect(await runningOnHost(backend, pids, session.pgid)).toBe("");
  });

  test("an already aborted signal starts nothing", async () => {
    const { backend } = remote();
    const controller = new AbortController();
    controller.abort();
    const error = await rejectionOf(spawnOn(backend, "touch ran", { signal: controller.signal }));
    expect(error.code).toBe("cancelled");
    expect(existsSync(join(root, "ran"))).toBe(false);
  });

  test("a consumer that does not read holds the remote process; nothing is lost", async () => {
    const { backend } = remote();
    const limit = 64 * 1024;
    const total = 20_000_000;
    const session = await spawnOn(backend, `head -c ${total} /dev/zero; touch finished`, {
      maxBufferedBytes: limit,
    });
    await waitFor(() => session.bufferedBytes >= limit, "the buffer to fill");
    // Give the writer every chance to run on; the closed SSH window must hold it.
    await Bun.sleep(300);
    const heldWhileIdle = session.bufferedBytes;
    expect(existsSync(join(root, "finished"))).toBe(false);
    let received = 0;
    let most = 0;
    let largest = 0;
    for await (const chunk of session.output) {
      received += chunk.data.length;
      largest = Math.max(largest, chunk.data.length);
      most = Math.max(most, session.bufferedBytes);
    }
    expect(received).toBe(total);
    // SSH data arrives in packets of at most 32 KiB: the bound plus one packet.
    expect(largest).toBeLessThanOrEqual(32 * 1024);
    expect(heldWhileIdle).toBeLessThan(limit + largest);
    expect(most).toBeLessThan(limit + largest);
    expect(await session.exited).toEqual({ exitCode: 0, signal: null });
    expect(existsSync(join(root, "finished"))).toBe(true);
  });

  test("a session holds a channel of the budget; kill still works when sessions hold every slot", async () => {
    const { backend, pool } = remote({ maxConnections: 1, maxChannelsPerConnection: 2 });
    // realpath (for confinement) runs before each spawn, so confine first, while channels are free.
    const first = await spawnOn(backend, 'sleep 100 & echo "PIDS $$ $!"; wait');
    const second = await spawnOn(backend, 'sleep 100 & echo "PIDS $$ $!"; wait');
    const pids = [...(await pidsOf(first)), ...(await pidsOf(second))];
    expect(pool.stats().channelsInUse).toBe(2);
    const queued = pool.exec("echo after", { cwd: "/" });
    await waitFor(() => pool.stats().queued === 1, "an exec to wait for a channel");
    await first.kill();
    expect((await queued).stdout).toBe("after\n");
    await second.kill();
    await Promise.all([first.close(), second.close()]);
    expect(await runningOnHost(backend, pids, first.pgid)).toBe("");
    await waitFor(() => pool.stats().channelsInUse === 0, "the channels to be released");
  });

  test("a spawn that waits past its start timeout for a channel fails with unavailable", async () => {
    const { pool } = remote({ maxConnections: 1, maxChannelsPerConnection: 1 });
    const blocker = pool.exec("sleep 1", { cwd: "/" });
    await waitFor(() => pool.stats().channelsInUse === 1, "the exec to hold the only channel");
    const error = await rejectionOf(pool.spawn("true", { cwd: "/", startTimeoutMs: 100 }));
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("no SSH channel");
    expect(pool.stats().queued).toBe(0);
    await blocker;
  });

  test("stdin refuses writes once the process is gone", async () => {
    const { backend } = remote();
    const session = await spawnOn(backend, "exit 0");
    await session.exited;
    expect((await rejectionOf(session.stdin.write("x"))).code).toBe("session_ended");
    await session.stdin.end();
  });

  test("close kills a running session and releases its channel; async disposal does the same", async () => {
    const { backend, pool } = remote();
    const session = await spawnOn(backend, 'sleep 100 & echo "PIDS $$ $!"; wait');
    const pids = await pidsOf(session);
    await session.close();
    expect(await runningOnHost(backend, pids, session.pgid)).toBe("");
    let pgid = 0;
    {
      await using disposable = await backend.spawn("sleep 100", { root });
      pgid = disposable.pgid;
    }
    expect(await runningOnHost(backend, [], pgid)).toBe("");
    await waitFor(() => pool.stats().channelsInUse === 0, "the channels to be released");
  });
});

describe("spawn over SSH: confinement", () => {
  test("a cwd outside the root, by `..`, absolute path or symlink, is refused before anything runs", async () => {
    const { backend } = remote();
    symlinkSync(join(dir, "outside"), join(root, "out"));
    for (const cwd of ["..", join(dir, "outside"), "out"]) {
      const error = await rejectionOf(spawnOn(backend, `touch ${join(dir, "outside", "ran")}`, { cwd }));
      expect(error.code).toBe("path_outside_workspace");
    }
    expect(existsSync(join(dir, "outside", "ran"))).toBe(false);
  });

  test("a missing cwd is not_found, naming it", async () => {
    const { backend } = remote();
    const error = await rejectionOf(spawnOn(backend, "true", { cwd: "missing" }));
    expect(error.code).toBe("not_found");
    expect(error.message).toContain(join(root, "missing"));
  });
});

describe("spawn over SSH: faults", () => {
  test("sshd dying mid-session ends the session with a clear error, not a hang", async () => {
    const guard = guardUncaught();
    try {
      const { backend, pool } = remote();
      const session = await spawnOn(backend, "echo ready; sleep 100");
      await readUntil(session, "ready\n");
      await sshd.stop();
      const error = await rejectionOf(session.exited);
      expect(error.code).toBe("unavailable");
      expect(error.message).toContain(`the connection to host "test-box" was lost`);
      const reading = await rejectionOf(readAll(session));
      expect(reading.message).toBe(error.message);
      expect((await rejectionOf(session.stdin.write("x"))).code).toBe("session_ended");
      await session.kill();
      await session.close();
      expect(pool.stats().channelsInUse).toBe(0);
      guard.assertNone();
    } finally {
      guard.dispose();
    }
  });
});
