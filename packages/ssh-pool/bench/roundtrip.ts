/**
 * Command round trip over the pool, against a new ssh2 connection per command and against the
 * OpenSSH client multiplexing over a ControlMaster, all on the same real sshd in the same run; then
 * many commands in parallel over the pool.
 *
 *   bun packages/ssh-pool/bench/roundtrip.ts [rounds] [perRound]
 *
 * Modes are interleaved round by round so machine noise hits them alike; each figure is the median
 * of every sample of that mode. `pool.exec` runs the full wrapper the tools use (cd, process-group
 * marker, clean-up); `pool.run` sends the bare command, as the ssh client does.
 */

import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { median } from "@dispatch/bench-kit";
import { Client } from "ssh2";
import { hostConfigSchema } from "../src/config.ts";
import { fingerprintOf, fingerprintsMatch } from "../src/fingerprint.ts";
import { buildRemoteCommand } from "../src/remote-command.ts";
import { SshPool } from "../src/ssh-pool.ts";
import { startSshd } from "../src/testing/index.ts";

const rounds = Number(process.argv[2] ?? 5);
const perRound = Number(process.argv[3] ?? 20);
const parallel = 50;

const uncaught: unknown[] = [];
process.on("uncaughtException", (error) => uncaught.push(error));
process.on("unhandledRejection", (error) => uncaught.push(error));

const sshd = await startSshd();
const config = hostConfigSchema.parse(sshd.hostConfig());
const pool = new SshPool({ config });
const privateKey = readFileSync(sshd.clientKeyPath);
const wrapped = buildRemoteCommand("true", "/");

/** One command on a connection made for it and ended after it: the baseline a pool saves. */
function freshConnection(): Promise<void> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on("error", reject);
    client.on("ready", () => {
      client.exec("true", (error, channel) => {
        if (error) return reject(error);
        channel.on("close", () => {
          client.end();
          resolve();
        });
        channel.resume();
      });
    });
    client.connect({
      host: "127.0.0.1",
      port: sshd.port,
      username: sshd.username,
      privateKey,
      hostVerifier: (key: Buffer) => fingerprintsMatch(sshd.hostKeySha256, fingerprintOf(key)),
    });
  });
}

// The OpenSSH client, multiplexed over a master connection started before timing.
const knownHosts = join(sshd.dir, "known_hosts");
const hostKey = execFileSync("ssh-keygen", ["-y", "-f", join(sshd.dir, "host_key")], { encoding: "utf8" });
writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${hostKey}`);
const controlPath = join(sshd.dir, "cm-%C");
const sshArgs = [
  ...["-i", sshd.clientKeyPath, "-p", String(sshd.port), "-o", "BatchMode=yes"],
  ...["-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=yes"],
  ...["-o", "ControlMaster=auto", "-o", `ControlPath=${controlPath}`, "-o", "ControlPersist=60"],
  `${sshd.username}@127.0.0.1`,
];
function controlMaster(command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", [...sshArgs, command], { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`ssh exited with ${code}`))));
  });
}

const modes: Record<string, () => Promise<unknown>> = {
  "pool.exec (wrapped)": () => pool.exec("true", { cwd: "/" }),
  "pool.run (bare)": () => pool.run("true"),
  "ControlMaster ssh (bare)": () => controlMaster("true"),
  "ControlMaster ssh (wrapped)": () => controlMaster(wrapped),
  "new ssh2 connection": freshConnection,
};
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(modes).map((name) => [name, []]));

try {
  // Warm-up: the pool's first connection, the master, and JIT for every path.
  for (const run of Object.values(modes)) for (let i = 0; i < 3; i++) await run();

  const names = Object.keys(modes);
  for (let round = 0; round < rounds; round++) {
    // Rotate the order so no mode always runs first (or last) in a round.
    const order = names.map((_, i) => names[(i + round) % names.length] as string);
    for (const name of order) {
      const run = modes[name] as () => Promise<unknown>;
      for (let i = 0; i < perRound; i++) {
        const start = performance.now();
        await run();
        (samples[name] as number[]).push(performance.now() - start);
      }
    }
  }

  const pooled = median(samples["pool.exec (wrapped)"] as number[]);
  console.log(
    `sshd on 127.0.0.1:${sshd.port}; ${rounds} rounds x ${perRound} sequential round trips per mode\n`,
  );
  console.log("mode                          median ms   vs pool.exec");
  for (const name of names) {
    const m = median(samples[name] as number[]);
    console.log(`${name.padEnd(30)}${m.toFixed(2).padStart(9)}   ${(m / pooled).toFixed(2).padStart(8)}x`);
  }
  const bare = median(samples["pool.run (bare)"] as number[]);
  const cmBare = median(samples["ControlMaster ssh (bare)"] as number[]);
  console.log(`\nbare command: ControlMaster / pool.run = ${(cmBare / bare).toFixed(2)}x`);
  console.log(
    `new connection / pool.exec = ${(median(samples["new ssh2 connection"] as number[]) / pooled).toFixed(2)}x`,
  );

  // Many commands at once over the pool (4 connections x 8 channels by default), against the
  // same count run one after another.
  const wall: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    await Promise.all(Array.from({ length: parallel }, () => pool.exec("true", { cwd: "/" })));
    wall.push(performance.now() - start);
  }
  const parallelMs = median(wall);
  const sequentialMs = pooled * parallel;
  console.log(
    `\n${parallel} in parallel over the pool: ${parallelMs.toFixed(1)} ms wall (${((parallel / parallelMs) * 1000).toFixed(0)} commands/s), ` +
      `${(sequentialMs / parallelMs).toFixed(2)}x faster than ${parallel} sequential (${sequentialMs.toFixed(1)} ms); ` +
      `${pool.stats().connections} connections`,
  );
  if (uncaught.length > 0) console.log(`UNCAUGHT: ${uncaught.map(String).join("; ")}`);
} finally {
  try {
    execFileSync("ssh", ["-o", `ControlPath=${controlPath}`, "-O", "exit", `${sshd.username}@127.0.0.1`], {
      stdio: "ignore",
    });
  } catch {
    // The master may already be gone.
  }
  await pool.dispose();
  await sshd.dispose();
}
