import { createHash, timingSafeEqual } from "node:crypto";

/** OpenSSH's `SHA256:` fingerprint of a raw host key blob: base64 of its sha256, without padding. */
export function fingerprintOf(key: Uint8Array): string {
  const digest = createHash("sha256").update(key).digest("base64").replace(/=+$/, "");
  return `SHA256:${digest}`;
}

/** Compares two fingerprints in constant time (padding ignored, so `ssh-keygen` and config forms match). */
export function fingerprintsMatch(expected: string, seen: string): boolean {
  const a = Buffer.from(expected.replace(/=+$/, ""));
  const b = Buffer.from(seen.replace(/=+$/, ""));
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
