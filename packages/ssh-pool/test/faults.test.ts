import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { type FaultProxy, type SshdFixture, startFaultProxy, startSshd } from "../src/testing/index.ts";
import {
  guardUncaught,
  hostFor,
  Pools,
  processesMatching,
  rejectionOf,
  uniqueMarker,
  waitFor,
} from "./helpers.ts";

let sshd: SshdFixture;
let proxy: FaultProxy | undefined;
let guard: ReturnType<typeof guardUncaught>;
const pools = new Pools();

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(() => sshd?.dispose());
beforeEach(() => {
  guard = guardUncaught();
});
afterEach(async () => {
  await pools.disposeAll();
  await proxy?.close();
  proxy = undefined;
  if (!sshd.running) await sshd.start();
  guard.dispose();
});

/** Each fault test ends here: the pool serves again and nothing escaped as an uncaught exception. */
async function expectServing(pool: ReturnType<Pools["make"]>): Promise<void> {
  expect((await pool.exec("echo serving", { cwd: "/" })).stdout).toBe("serving\n");
  guard.assertNone();
}

describe("faults", () => {
  test("sshd killed mid-command: the command fails as unavailable; after a restart the pool serves again", async () => {
    const pool = pools.make(hostFor(sshd));
    const marker = uniqueMarker();
    const running = pool.exec(`sleep 30; : ${marker}`, { cwd: "/" });
    await waitFor(() => processesMatching(marker).length > 0, "the command to start");
    await sshd.stop();
    const error = await rejectionOf(running);
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("lost while the command ran");
    expect(pool.stats().connections).toBe(0);
    expect(pool.stats().failuresTotal).toBe(1);
    await sshd.start();
    await expectServing(pool);
  });

  test("a server that accepts and closes at once: attempts back off, the breaker opens, then the pool recovers", async () => {
    proxy = await startFaultProxy({ targetPort: sshd.port, mode: "close" });
    const pool = pools.make(
      hostFor(sshd, { port: proxy.port, breaker: { failureThreshold: 3, cooldownMs: 300 } }),
    );
    const error = await rejectionOf(pool.exec("true", { cwd: "/" }));
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("circuit breaker open after 3 consecutive connection failures");
    expect(error.message).toContain("Connection lost before handshake");
    expect(proxy.accepted).toBe(3);
    proxy.mode = "forward";
    await waitFor(() => pool.stats().breaker === "half-open", "the breaker to half-open");
    await expectServing(pool);
    expect(pool.stats().breaker).toBe("closed");
  });

  test("a server that accepts and never speaks: the connect timeout fires, then the pool recovers", async () => {
    proxy = await startFaultProxy({ targetPort: sshd.port, mode: "silent" });
    const pool = pools.make(
      hostFor(sshd, {
        port: proxy.port,
        connectTimeoutMs: 300,
        breaker: { failureThreshold: 2, cooldownMs: 300 },
      }),
    );
    const error = await rejectionOf(pool.exec("true", { cwd: "/" }));
    expect(error.code).toBe("unavailable");
    expect((error as { details?: { lastError?: string } }).details?.lastError).toBe("connect_timeout");
    expect(error.message).toContain("timed out after 300 ms");
    proxy.mode = "forward";
    await waitFor(() => pool.stats().breaker === "half-open", "the breaker to half-open");
    await expectServing(pool);
  });

  test("a wrong host key is refused with both fingerprints; the right key is served again", async () => {
    const pool = pools.make(hostFor(sshd));
    await pool.exec("true", { cwd: "/" });
    await sshd.stop();
    await sshd.start({ hostKey: "alternate" });
    const error = await rejectionOf(pool.exec("true", { cwd: "/" }));
    expect(error.code).toBe("host_key_mismatch");
    expect(error.message).toContain(`expected ${sshd.hostKeySha256}`);
    expect(error.message).toContain(`presented ${sshd.alternateHostKeySha256}`);
    await sshd.stop();
    await sshd.start();
    await expectServing(pool);
  });

  test("a host without a configured fingerprint is refused, and the error shows the one seen", async () => {
    const config = hostFor(sshd);
    const pool = pools.make({ ...config, hostKeySha256: undefined });
    const error = await rejectionOf(pool.exec("true", { cwd: "/" }));
    expect(error.code).toBe("host_key_unknown");
    expect(error.message).toContain(sshd.hostKeySha256);
    guard.assertNone();
    await expectServing(pools.make(config));
  });

  test("the breaker opens, fails fast while open, half-opens for exactly one trial, and closes on success", async () => {
    proxy = await startFaultProxy({ targetPort: sshd.port, mode: "close" });
    const pool = pools.make(
      hostFor(sshd, { port: proxy.port, breaker: { failureThreshold: 2, cooldownMs: 400 } }),
    );
    await rejectionOf(pool.exec("true", { cwd: "/" }));
    expect(proxy.accepted).toBe(2);
    expect(pool.stats().breaker).toBe("open");

    const fast = await rejectionOf(pool.exec("true", { cwd: "/" }));
    expect(fast.message).toContain("circuit breaker open");
    expect(proxy.accepted).toBe(2);

    await waitFor(() => pool.stats().breaker === "half-open", "the breaker to half-open");
    const results = await Promise.allSettled([1, 2, 3].map(() => pool.exec("true", { cwd: "/" })));
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    expect(proxy.accepted).toBe(3);
    expect(pool.stats().breaker).toBe("open");

    proxy.mode = "forward";
    await waitFor(() => pool.stats().breaker === "half-open", "the breaker to half-open again");
    await expectServing(pool);
    expect(pool.stats()).toMatchObject({ breaker: "closed", consecutiveFailures: 0, failuresTotal: 3 });
  });

  test("keepalive notices a network that went dark; the pool reconnects once it is back", async () => {
    proxy = await startFaultProxy({ targetPort: sshd.port, mode: "forward" });
    const pool = pools.make(hostFor(sshd, { port: proxy.port, keepaliveIntervalMs: 100 }));
    await pool.exec("true", { cwd: "/" });
    expect(pool.stats().connections).toBe(1);
    const marker = uniqueMarker();
    const running = pool.exec(`sleep 30; : ${marker}`, { cwd: "/" });
    await waitFor(() => processesMatching(marker).length > 0, "the command to start");
    proxy.mode = "freeze";
    const error = await rejectionOf(running);
    expect(error.code).toBe("unavailable");
    expect(pool.stats().connections).toBe(0);
    expect(pool.stats().lastError).toContain("Keepalive timeout");
    proxy.mode = "forward";
    await expectServing(pool);
  });

  test("dispose with commands running and queued: they all settle, no connection is left", async () => {
    const pool = pools.make(hostFor(sshd, { maxConnections: 1, maxChannelsPerConnection: 2 }));
    const commands = Array.from({ length: 6 }, () => pool.exec("sleep 30", { cwd: "/" }));
    const settled = Promise.allSettled(commands);
    await waitFor(
      () => pool.stats().channelsInUse === 2 && pool.stats().queued === 4,
      "commands to run and queue",
    );
    await pool.dispose();
    const results = await settled;
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    expect(pool.stats()).toMatchObject({ connections: 0, channelsInUse: 0, queued: 0 });
    expect((await rejectionOf(pool.exec("true", { cwd: "/" }))).message).toContain("shut down");
    guard.assertNone();
  });
});
