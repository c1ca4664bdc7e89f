import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { capResult, capText, completeUtf8Length, OutputCollector } from "./output-cap.ts";

const bytes = (s: string) => Buffer.byteLength(s);

describe("capText", () => {
  test("leaves short text alone", () => {
    expect(capText("héllo", 100)).toEqual({ text: "héllo", truncated: false, totalBytes: 6, shownBytes: 6 });
  });

  test("never cuts inside a character", () => {
    // "é" is two bytes: a cut at 2 bytes would split the second character.
    const capped = capText("aéb", 2);
    expect(capped).toEqual({ text: "a", truncated: true, totalBytes: 4, shownBytes: 1 });
  });

  test("is a valid UTF-8 prefix within budget for any text (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 200 }),
        fc.integer({ min: 0, max: 400 }),
        (text, max) => {
          const capped = capText(text, max);
          expect(bytes(capped.text)).toBeLessThanOrEqual(max);
          expect(text.startsWith(capped.text)).toBe(true);
          expect(capped.truncated).toBe(bytes(text) > max);
          expect(capped.totalBytes).toBe(bytes(text));
          if (capped.truncated) expect(max - bytes(capped.text)).toBeLessThan(4);
        },
      ),
    );
  });
});

describe("capResult", () => {
  test("states the cut and stays within the cap, note included", () => {
    const text = "x".repeat(5000);
    const out = capResult(text, 1024);
    expect(bytes(out)).toBeLessThanOrEqual(1024);
    expect(out).toMatch(/\[truncated: showed \d+ of 5000 bytes\]$/);
  });

  test("returns text under the cap unchanged", () => {
    expect(capResult("short", 1024)).toBe("short");
  });
});

describe("OutputCollector", () => {
  test("keeps at most maxBytes, counts the rest and drops a split trailing character", () => {
    const collector = new OutputCollector(5);
    collector.push(Buffer.from("abcd"));
    collector.push(Buffer.from("é and more")); // "é" straddles the 5-byte budget
    expect(collector.truncated).toBe(true);
    expect(collector.totalBytes).toBe(4 + bytes("é and more"));
    expect(collector.text()).toBe("abcd");
  });

  test("reports no truncation when everything fit", () => {
    const collector = new OutputCollector(10);
    collector.push(Buffer.from("héllo"));
    expect(collector.truncated).toBe(false);
    expect(collector.text()).toBe("héllo");
  });

  test("completeUtf8Length trims only an incomplete tail", () => {
    const euro = Buffer.from("€"); // 3 bytes
    expect(completeUtf8Length(euro)).toBe(3);
    expect(completeUtf8Length(euro.subarray(0, 2))).toBe(0);
    expect(completeUtf8Length(Buffer.from("ab"))).toBe(2);
    const emoji = Buffer.concat([Buffer.from("a"), Buffer.from("😀").subarray(0, 3)]);
    expect(completeUtf8Length(emoji)).toBe(1);
  });
});
