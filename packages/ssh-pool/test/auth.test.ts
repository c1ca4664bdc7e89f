import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type SshdFixture, startSshd } from "../src/testing/index.ts";
import { guardUncaught, hostFor, Pools, rejectionOf } from "./helpers.ts";

let sshd: SshdFixture;
let dir: string;
const pools = new Pools();

beforeAll(async () => {
  sshd = await startSshd();
  dir = mkdtempSync(join(tmpdir(), "ssh-auth-"));
});
afterEach(() => pools.disposeAll());
afterAll(async () => {
  await sshd?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("authentication", () => {
  test("a key from the SSH agent (SSH_AUTH_SOCK) is used when agent is on", async () => {
    const socket = join(dir, "agent.sock");
    // -D: the agent stays in the foreground as our child, so the test owns and ends it.
    const agent: ChildProcess = spawn("ssh-agent", ["-D", "-a", socket], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    const saved = process.env.SSH_AUTH_SOCK;
    try {
      // The agent prints its environment lines once it listens. The socket file appears earlier, at
      // bind(), and an ssh-add in between was refused ("Connection refused") in a full run.
      await listening(agent);
      execFileSync("ssh-add", ["-q", sshd.clientKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
      process.env.SSH_AUTH_SOCK = socket;
      const pool = pools.make(hostFor(sshd, { agent: true, privateKeyPath: undefined }));
      expect((await pool.exec("echo via-agent", { cwd: "/" })).stdout).toBe("via-agent\n");
    } finally {
      if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = saved;
      agent.kill("SIGKILL");
    }
  });

  test("agent on without SSH_AUTH_SOCK and without a key fails clearly", async () => {
    const saved = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      const pool = pools.make(hostFor(sshd, { agent: true, privateKeyPath: undefined }));
      const error = await rejectionOf(pool.exec("true", { cwd: "/" }));
      expect(error.code).toBe("invalid_config");
      expect(error.message).toContain("SSH_AUTH_SOCK is not set");
    } finally {
      if (saved !== undefined) process.env.SSH_AUTH_SOCK = saved;
    }
  });

  test("a key the server does not accept is auth_failed at once, without retries", async () => {
    const guard = guardUncaught();
    try {
      const stranger = join(dir, "stranger");
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", stranger]);
      const pool = pools.make(hostFor(sshd, { privateKeyPath: stranger }));
      const error = await rejectionOf(pool.exec("true", { cwd: "/" }));
      expect(error.code).toBe("auth_failed");
      expect(pool.stats()).toMatchObject({ consecutiveFailures: 1, breaker: "closed" });
      guard.assertNone();
    } finally {
      guard.dispose();
    }
  });

  test("an unreadable key file is invalid_config naming the path; `~` is expanded", async () => {
    const pool = pools.make(hostFor(sshd, { privateKeyPath: "~/.no-such-dispatch-key" }));
    const error = await rejectionOf(pool.exec("true", { cwd: "/" }));
    expect(error.code).toBe("invalid_config");
    expect(error.message).toContain(`${process.env.HOME}/.no-such-dispatch-key`);
  });

  test("a file that is not a key is invalid_config, not a crash", async () => {
    const guard = guardUncaught();
    try {
      const pool = pools.make(hostFor(sshd, { privateKeyPath: sshd.clientPublicKeyPath }));
      const error = await rejectionOf(pool.exec("true", { cwd: "/" }));
      expect(error.code).toBe("invalid_config");
      guard.assertNone();
    } finally {
      guard.dispose();
    }
  });
});

/** Resolves once the `ssh-agent -D` child has printed `SSH_AUTH_SOCK=...`, which it does after listen(). */
function listening(agent: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    agent.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("SSH_AUTH_SOCK=")) resolve();
    });
    agent.once("exit", (code) => reject(new Error(`ssh-agent exited with ${code} before listening: ${out}`)));
  });
}
