import { describe, expect, test } from "bun:test";
import { hostConfigSchema } from "./config.ts";
import { fingerprintOf } from "./fingerprint.ts";
import { hostKeyProblem } from "./host-key-check.ts";

const key = Buffer.from("the server's host key blob");
const other = Buffer.from("someone else's host key blob");
const config = (hostKeySha256?: string) =>
  hostConfigSchema.parse({ id: "box", host: "10.0.0.5", username: "dev", agent: true, hostKeySha256 });

describe("hostKeyProblem", () => {
  test("accepts the configured key", () => {
    expect(hostKeyProblem(config(fingerprintOf(key)), key)).toBeUndefined();
  });

  test("a different key is host_key_mismatch showing expected and seen", () => {
    const problem = hostKeyProblem(config(fingerprintOf(key)), other);
    expect(problem?.code).toBe("host_key_mismatch");
    expect(problem?.message).toContain(`expected ${fingerprintOf(key)}`);
    expect(problem?.message).toContain(`presented ${fingerprintOf(other)}`);
    expect(problem?.details).toEqual({
      hostId: "box",
      expected: fingerprintOf(key),
      seen: fingerprintOf(other),
    });
  });

  test("no configured fingerprint is host_key_unknown showing the one seen: no silent trust", () => {
    const problem = hostKeyProblem(config(undefined), key);
    expect(problem?.code).toBe("host_key_unknown");
    expect(problem?.message).toContain(fingerprintOf(key));
  });
});
