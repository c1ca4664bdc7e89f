import { describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { fingerprintOf, fingerprintsMatch } from "./fingerprint.ts";

describe("fingerprintOf", () => {
  test("matches ssh-keygen -lf for a real ed25519 key", () => {
    const dir = mkdtempSync(join(tmpdir(), "ssh-fp-"));
    try {
      const path = join(dir, "key");
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path]);
      const expected = execFileSync("ssh-keygen", ["-lf", `${path}.pub`], { encoding: "utf8" }).split(" ")[1];
      // The .pub line is "<type> <base64 blob> <comment>"; the blob is what the server sends.
      const blob = Buffer.from(readFileSync(`${path}.pub`, "utf8").split(" ")[1] as string, "base64");
      expect(expected).toStartWith("SHA256:");
      expect(fingerprintOf(blob)).toBe(expected as string);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("has no base64 padding", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (key) => {
        const fingerprint = fingerprintOf(key);
        expect(fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      }),
    );
  });
});

describe("fingerprintsMatch", () => {
  test("equal fingerprints match, with or without padding", () => {
    const fp = fingerprintOf(Buffer.from("key"));
    expect(fingerprintsMatch(fp, fp)).toBe(true);
    expect(fingerprintsMatch(`${fp}=`, fp)).toBe(true);
  });

  test("different keys never match", () => {
    fc.assert(
      fc.property(fc.uint8Array(), fc.uint8Array(), (a, b) => {
        fc.pre(Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0);
        expect(fingerprintsMatch(fingerprintOf(a), fingerprintOf(b))).toBe(false);
      }),
    );
  });

  test("strings of different lengths do not match (and do not throw)", () => {
    expect(fingerprintsMatch("SHA256:abc", "SHA256:abcd")).toBe(false);
  });
});
