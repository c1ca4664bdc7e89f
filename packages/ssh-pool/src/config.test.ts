import { describe, expect, test } from "bun:test";
import { hostsConfigSchema } from "./config.ts";

const fp = `SHA256:${"A".repeat(43)}`;

describe("hosts config", () => {
  test("a missing slice is no hosts", () => {
    expect(hostsConfigSchema.parse(undefined)).toEqual([]);
  });

  test("fills every default", () => {
    const [host] = hostsConfigSchema.parse([
      { id: "build-box", host: "10.0.0.5", username: "dev", privateKeyPath: "~/.ssh/id", hostKeySha256: fp },
    ]);
    expect(host).toEqual({
      id: "build-box",
      host: "10.0.0.5",
      port: 22,
      username: "dev",
      privateKeyPath: "~/.ssh/id",
      agent: false,
      hostKeySha256: fp,
      maxConnections: 4,
      maxChannelsPerConnection: 8,
      connectTimeoutMs: 10_000,
      commandTimeoutMs: 120_000,
      keepaliveIntervalMs: 15_000,
      idleTimeoutMs: 300_000,
      breaker: { failureThreshold: 5, cooldownMs: 30_000 },
    });
  });

  test("a host may omit its fingerprint (connecting then fails with the one seen)", () => {
    const result = hostsConfigSchema.safeParse([{ id: "new", host: "h", username: "u", agent: true }]);
    expect(result.success).toBe(true);
  });

  test("names the path of each problem", () => {
    const result = hostsConfigSchema.safeParse([
      { id: "Bad Id", host: "h", username: "u", agent: true, colour: "red" },
      { id: "ok", host: "h", username: "u", hostKeySha256: "md5:aa" },
      { id: "ok", host: "h", username: "u", agent: true, breaker: { failureThreshold: 0 } },
    ]);
    expect(result.success).toBe(false);
    const issues = result.error?.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`) ?? [];
    expect(issues.some((i) => i.startsWith("0.id:"))).toBe(true);
    expect(issues.some((i) => i.includes("colour"))).toBe(true);
    expect(issues.some((i) => i.startsWith("1.hostKeySha256:"))).toBe(true);
    expect(issues.some((i) => i.includes("set privateKeyPath or agent"))).toBe(true);
    expect(issues.some((i) => i.startsWith("2.breaker.failureThreshold:"))).toBe(true);
  });

  test("host ids are unique", () => {
    const host = { host: "h", username: "u", agent: true };
    const result = hostsConfigSchema.safeParse([
      { id: "a", ...host },
      { id: "a", ...host },
    ]);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('duplicate host id "a"');
    expect(result.error?.issues[0]?.path).toEqual([1, "id"]);
  });
});
