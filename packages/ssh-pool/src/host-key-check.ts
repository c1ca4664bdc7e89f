import { DispatchError, messageOf } from "@dispatch/kernel";
import type { HostConfig } from "./config.ts";
import { fingerprintOf, fingerprintsMatch } from "./fingerprint.ts";

/**
 * Why the host key `key` (the raw blob the server presented) must be refused for `config`, or
 * undefined when it matches the configured `hostKeySha256`. There is no silent trust: a host without
 * a configured fingerprint is refused too, with the fingerprint seen so it can be checked and set.
 */
export function hostKeyProblem(config: HostConfig, key: Uint8Array): DispatchError | undefined {
  const where = `${config.host}:${config.port} (host "${config.id}")`;
  try {
    const seen = fingerprintOf(key);
    const expected = config.hostKeySha256;
    if (expected === undefined) {
      return new DispatchError(
        "host_key_unknown",
        `refusing ${where}: no hostKeySha256 is configured; the server presented ${seen}. Check it out of band (ssh-keygen -lf on the server's host key) and set hostKeySha256 to it.`,
        { details: { hostId: config.id, seen } },
      );
    }
    if (!fingerprintsMatch(expected, seen)) {
      return new DispatchError(
        "host_key_mismatch",
        `refusing ${where}: host key mismatch, expected ${expected} but the server presented ${seen}`,
        { details: { hostId: config.id, expected, seen } },
      );
    }
    return undefined;
  } catch (error) {
    return new DispatchError(
      "host_key_mismatch",
      `refusing ${where}: host key check failed: ${messageOf(error)}`,
    );
  }
}
