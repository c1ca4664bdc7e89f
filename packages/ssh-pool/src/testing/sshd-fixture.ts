import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killTree } from "./process-tree.ts";

/** Where the fixture expects OpenSSH's server. */
export const SSHD_PATH = "/usr/sbin/sshd";

/** Options for `startSshd`. */
export interface SshdOptions {
  /** sshd's `MaxSessions` (channels per connection); OpenSSH's default is 10. */
  maxSessions?: number;
  /** sshd's `MaxStartups` (concurrent unauthenticated connections), e.g. `1` or `"10:30:100"`. */
  maxStartups?: number | string;
  /** Let bash source the user's ~/.bashrc for each session, as a real host would (off by default). */
  sourceShellRc?: boolean;
  /** Extra `sshd_config` lines. */
  extraConfig?: string[];
}

/** Which of the fixture's two host keys sshd presents. */
export type HostKeyChoice = "primary" | "alternate";

/** A host entry for the `hosts` config, pointing at the fixture. */
export interface FixtureHostConfig {
  id: string;
  host: string;
  port: number;
  username: string;
  privateKeyPath: string;
  hostKeySha256: string;
  [key: string]: unknown;
}

/** A real OpenSSH sshd on a loopback port, with keys in a temp dir. */
export interface SshdFixture {
  readonly dir: string;
  readonly port: number;
  readonly username: string;
  readonly clientKeyPath: string;
  readonly clientPublicKeyPath: string;
  /** `SHA256:…` fingerprint of the primary host key (the one sshd presents by default). */
  readonly hostKeySha256: string;
  /** Fingerprint of the alternate host key, which `start({ hostKey: "alternate" })` presents. */
  readonly alternateHostKeySha256: string;
  readonly running: boolean;
  /** A `hosts` entry that connects to this sshd; `overrides` are merged over it. */
  hostConfig(overrides?: Record<string, unknown>): FixtureHostConfig;
  /** Starts sshd on the same port (after `stop`), optionally with the alternate host key. */
  start(options?: { hostKey?: HostKeyChoice }): Promise<void>;
  /** Kills sshd and every connection handler and session under it, like a crashed machine. */
  stop(): Promise<void>;
  /** The sshd log (`-e` output). */
  log(): string;
  /** Stops sshd and removes the temp dir. */
  dispose(): Promise<void>;
}

/** Throws a clear error when OpenSSH's sshd is not installed: the SSH tests must not skip silently. */
export function requireSshd(): void {
  for (const tool of [SSHD_PATH, "/usr/bin/ssh-keygen"]) {
    if (!existsSync(tool)) {
      throw new Error(
        `${tool} is missing: the ssh-pool tests need OpenSSH. Run bin/lib/ensure-sshd.sh (bin/test runs it) to install openssh-server and openssh-client.`,
      );
    }
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port from the kernel");
  return address.port;
}

function keygen(path: string): string {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "dispatch-test", "-f", path]);
  const line = execFileSync("ssh-keygen", ["-lf", `${path}.pub`], { encoding: "utf8" });
  const fingerprint = line.split(" ")[1];
  if (fingerprint === undefined || !fingerprint.startsWith("SHA256:")) {
    throw new Error(`unexpected ssh-keygen -lf output: ${line}`);
  }
  return fingerprint;
}

/** Starts a real sshd in the foreground (`sshd -D -e -f <config>`) with generated ed25519 keys. */
export async function startSshd(options: SshdOptions = {}): Promise<SshdFixture> {
  requireSshd();
  mkdirSync("/run/sshd", { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), "dispatch-sshd-"));
  try {
    const hostKeySha256 = keygen(join(dir, "host_key"));
    const alternateHostKeySha256 = keygen(join(dir, "host_key_alt"));
    keygen(join(dir, "client_key"));
    writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")));
    const port = await freePort();
    const fixture = new Sshd(dir, port, options, hostKeySha256, alternateHostKeySha256);
    await fixture.start();
    return fixture;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

class Sshd implements SshdFixture {
  // Bun's os.userInfo() can answer "unknown" when there is no passwd lookup; `id -un` asks the same database sshd uses.
  readonly username = execFileSync("id", ["-un"], { encoding: "utf8" }).trim();
  readonly clientKeyPath: string;
  readonly clientPublicKeyPath: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(
    readonly dir: string,
    readonly port: number,
    readonly options: SshdOptions,
    readonly hostKeySha256: string,
    readonly alternateHostKeySha256: string,
  ) {
    this.clientKeyPath = join(dir, "client_key");
    this.clientPublicKeyPath = join(dir, "client_key.pub");
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  hostConfig(overrides: Record<string, unknown> = {}): FixtureHostConfig {
    return {
      id: "test-box",
      host: "127.0.0.1",
      port: this.port,
      username: this.username,
      privateKeyPath: this.clientKeyPath,
      hostKeySha256: this.hostKeySha256,
      ...overrides,
    };
  }

  #writeConfig(hostKey: HostKeyChoice): string {
    const path = join(this.dir, "sshd_config");
    const lines = [
      `Port ${this.port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(this.dir, hostKey === "primary" ? "host_key" : "host_key_alt")}`,
      `PidFile ${join(this.dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(this.dir, "authorized_keys")}`,
      "StrictModes no",
      "UsePAM no",
      "PermitRootLogin prohibit-password",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UseDNS no",
      "PrintMotd no",
      "Subsystem sftp internal-sftp",
      // bash sources ~/.bashrc for sessions run by sshd only at shell level 1; a developer's rc (pyenv
      // init, say) would add its start-up time to every command and drown what the tests measure.
      ...(this.options.sourceShellRc ? [] : ["SetEnv SHLVL=1"]),
      `MaxSessions ${this.options.maxSessions ?? 10}`,
      `MaxStartups ${this.options.maxStartups ?? "10:30:100"}`,
      ...(this.options.extraConfig ?? []),
    ];
    writeFileSync(path, `${lines.join("\n")}\n`);
    return path;
  }

  async start(options: { hostKey?: HostKeyChoice } = {}): Promise<void> {
    if (this.#child) throw new Error("sshd is already running");
    const config = this.#writeConfig(options.hostKey ?? "primary");
    const logStart = this.log().length;
    const logFd = openSync(join(this.dir, "sshd.log"), "a");
    let child: ChildProcess;
    try {
      // Detached: sshd leads its own process group, so the test runner's signals do not reach it.
      child = spawn(SSHD_PATH, ["-D", "-e", "-f", config], {
        detached: true,
        stdio: ["ignore", "ignore", logFd],
      });
    } finally {
      closeSync(logFd);
    }
    let exited = false;
    this.#exited = new Promise<void>((resolve) => {
      child.once("exit", () => {
        exited = true;
        resolve();
      });
      child.once("error", () => {
        exited = true;
        resolve();
      });
    });
    this.#child = child;
    // Ready when this sshd says it listens, not when something accepts on the port: after a stop,
    // another process (another test run's sshd) can take the port, and this sshd then fails to bind
    // while the port still answers.
    const listening = `Server listening on 127.0.0.1 port ${this.port}.`;
    const deadline = Date.now() + 10_000;
    while (!this.log().slice(logStart).includes(listening)) {
      if (exited || Date.now() > deadline) {
        await this.stop();
        throw new Error(`sshd did not start on port ${this.port}:\n${this.log().slice(logStart)}`);
      }
      await Bun.sleep(20);
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child?.pid) {
      this.#child = undefined;
      return;
    }
    this.#child = undefined;
    try {
      // Stopped first so it cannot fork a new handler between listing its children and killing them.
      process.kill(child.pid, "SIGSTOP");
    } catch {
      // Already gone.
    }
    killTree(child.pid);
    await this.#exited;
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, "sshd.log"), "utf8");
    } catch {
      return "";
    }
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
