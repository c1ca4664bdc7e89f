import { expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { type HostConfig, hostConfigSchema } from "../src/config.ts";
import type { ConnectionPoolOptions } from "../src/connection-pool.ts";
import { SshPool } from "../src/ssh-pool.ts";
import type { SshdFixture } from "../src/testing/index.ts";

/** Records uncaught exceptions and unhandled rejections while a fault test runs. */
export function guardUncaught(): { readonly seen: unknown[]; assertNone(): void; dispose(): void } {
  const seen: unknown[] = [];
  const record = (error: unknown) => seen.push(error);
  process.on("uncaughtException", record);
  process.on("unhandledRejection", record);
  return {
    seen,
    assertNone: () => expect(seen.map(String)).toEqual([]),
    dispose: () => {
      process.off("uncaughtException", record);
      process.off("unhandledRejection", record);
    },
  };
}

/** Parsed host config for the fixture, with overrides. */
export function hostFor(sshd: SshdFixture, overrides: Record<string, unknown> = {}): HostConfig {
  return hostConfigSchema.parse(sshd.hostConfig(overrides));
}

/** Pools made in a test; `disposeAll` in afterEach. */
export class Pools {
  #pools: SshPool[] = [];

  make(config: HostConfig, options: Omit<ConnectionPoolOptions, "config"> = {}): SshPool {
    const pool = new SshPool({ backoffBaseMs: 20, backoffMaxMs: 200, ...options, config });
    this.#pools.push(pool);
    return pool;
  }

  async disposeAll(): Promise<void> {
    const pools = this.#pools;
    this.#pools = [];
    await Promise.all(pools.map((pool) => pool.dispose()));
  }
}

/** Polls `check` until it is true or `timeoutMs` passes (then fails with `what`). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** Pids of processes whose command line contains `marker` (the same machine plays the remote host). */
export function processesMatching(marker: string): number[] {
  const result = spawnSync("pgrep", ["-f", marker], { encoding: "utf8" });
  return result.stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map(Number);
}

/** A marker unlikely to appear in any other process's command line. */
export function uniqueMarker(): string {
  return `dispatch-test-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** The rejection of `promise` (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected a rejection, but the promise resolved");
}
