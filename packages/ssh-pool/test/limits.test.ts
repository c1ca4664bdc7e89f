import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type SshdFixture, startSshd } from "../src/testing/index.ts";
import { guardUncaught, hostFor, Pools } from "./helpers.ts";

let sshd: SshdFixture;
const pools = new Pools();

beforeAll(async () => {
  // Two sessions per connection and one unauthenticated connection at a time.
  sshd = await startSshd({ maxSessions: 2, maxStartups: 1 });
});
afterEach(() => pools.disposeAll());
afterAll(() => sshd?.dispose());

describe("server limits", () => {
  test("more concurrent commands than MaxSessions and MaxStartups allow all queue and succeed", async () => {
    const guard = guardUncaught();
    const barriers = mkdtempSync(join(tmpdir(), "dispatch-limits-"));
    try {
      // The pool believes in 8 channels per connection; sshd refuses the third, and the pool learns.
      // Three pools connect at once, so sshd's MaxStartups drops some attempts; they back off and retry.
      const config = hostFor(sshd, {
        maxConnections: 3,
        maxChannelsPerConnection: 8,
        breaker: { failureThreshold: 50, cooldownMs: 1000 },
      });
      const group = [pools.make(config), pools.make(config), pools.make(config)];
      // Each pool's commands wait until six of them run at once, which sshd's two sessions per
      // connection allow only on all three connections: the pool must learn the limit and grow to
      // maxConnections, however fast or slow the machine is. (Counting connections after short
      // commands raced the second handshake against the first connection emptying the queue.)
      const runs = group.flatMap((pool, p) => {
        const dir = join(barriers, String(p));
        mkdirSync(dir);
        return Array.from({ length: 15 }, (_, i) =>
          pool.exec(
            `touch ${dir}/${i}; while [ "$(ls ${dir} | wc -l)" -lt 6 ]; do sleep 0.01; done; echo ${p}-${i}`,
            { cwd: "/" },
          ),
        );
      });
      const results = await Promise.all(runs);
      expect(results.map((r) => r.stdout)).toEqual(
        group.flatMap((_, p) => Array.from({ length: 15 }, (_, i) => `${p}-${i}\n`)),
      );
      expect(results.every((r) => r.exitCode === 0)).toBe(true);
      for (const pool of group) {
        const stats = pool.stats();
        expect(stats.channelsInUse).toBe(0);
        expect(stats.queued).toBe(0);
        expect(stats.connections).toBe(3);
      }
      guard.assertNone();
    } finally {
      guard.dispose();
      rmSync(barriers, { recursive: true, force: true });
    }
  });

  test("sftp takes one of the MaxSessions channels and exec still works beside it", async () => {
    const pool = pools.make(hostFor(sshd, { maxConnections: 1, maxChannelsPerConnection: 8 }));
    await pool.withSftp(
      (sftp) =>
        new Promise<void>((resolve, reject) =>
          sftp.stat("/", (error) => (error ? reject(error) : resolve())),
        ),
    );
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => pool.exec(`echo ${i}`, { cwd: "/" })),
    );
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 6 }, (_, i) => `${i}\n`));
    expect(pool.stats().connections).toBe(1);
  });
});
