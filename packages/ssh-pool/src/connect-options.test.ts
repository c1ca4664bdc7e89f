import { afterEach, describe, expect, test } from "bun:test";
import { homedir } from "node:os";
import { hostConfigSchema } from "./config.ts";
import { connectOptions, expandHome } from "./connect-options.ts";

const base = { id: "box", host: "10.0.0.5", username: "dev", hostKeySha256: `SHA256:${"A".repeat(43)}` };
const verify = () => true;
const savedSocket = process.env.SSH_AUTH_SOCK;
afterEach(() => {
  if (savedSocket === undefined) delete process.env.SSH_AUTH_SOCK;
  else process.env.SSH_AUTH_SOCK = savedSocket;
});

describe("expandHome", () => {
  test("expands a leading ~ only", () => {
    expect(expandHome("~")).toBe(homedir());
    expect(expandHome("~/.ssh/id")).toBe(`${homedir()}/.ssh/id`);
    expect(expandHome("/abs/~/x")).toBe("/abs/~/x");
    expect(expandHome("~other/x")).toBe("~other/x");
  });
});

describe("connectOptions", () => {
  test("carries the timeouts, keepalive and verifier from config", () => {
    process.env.SSH_AUTH_SOCK = "/tmp/agent.sock";
    const options = connectOptions(
      hostConfigSchema.parse({ ...base, agent: true, connectTimeoutMs: 1234, keepaliveIntervalMs: 99 }),
      verify,
    );
    expect(options).toMatchObject({
      host: "10.0.0.5",
      port: 22,
      username: "dev",
      readyTimeout: 1234,
      keepaliveInterval: 99,
    });
    expect(options.hostVerifier).toBe(verify);
  });

  test("uses SSH_AUTH_SOCK for the agent", () => {
    process.env.SSH_AUTH_SOCK = "/tmp/agent.sock";
    expect(connectOptions(hostConfigSchema.parse({ ...base, agent: true }), verify).agent).toBe(
      "/tmp/agent.sock",
    );
  });

  test("an agent without SSH_AUTH_SOCK and without a key is invalid_config", () => {
    delete process.env.SSH_AUTH_SOCK;
    expect(() => connectOptions(hostConfigSchema.parse({ ...base, agent: true }), verify)).toThrow(
      "SSH_AUTH_SOCK is not set",
    );
  });

  test("an unreadable key names the expanded path", () => {
    const config = hostConfigSchema.parse({ ...base, privateKeyPath: "~/.definitely-missing-key" });
    expect(() => connectOptions(config, verify)).toThrow(`${homedir()}/.definitely-missing-key`);
  });
});
