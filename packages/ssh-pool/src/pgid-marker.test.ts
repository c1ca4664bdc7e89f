import { describe, expect, test } from "bun:test";
import { PgidMarkerReader } from "./pgid-marker.ts";

const text = (buffer: Buffer) => buffer.toString("latin1");

describe("PgidMarkerReader", () => {
  test("reads a marker split over chunks and passes on what follows it", () => {
    const reader = new PgidMarkerReader();
    expect(text(reader.feed(Buffer.from("\x1e12")))).toBe("");
    expect(reader.done).toBe(false);
    expect(text(reader.feed(Buffer.from("34\x1eoops\n")))).toBe("oops\n");
    expect(reader.done).toBe(true);
    expect(reader.pgid).toBe(1234);
    expect(text(reader.feed(Buffer.from("\x1e9\x1e")))).toBe("\x1e9\x1e");
  });

  test("stderr that does not start with a marker is ordinary stderr", () => {
    const reader = new PgidMarkerReader();
    expect(text(reader.feed(Buffer.from("cd: /x: No such file\n")))).toBe("cd: /x: No such file\n");
    expect(reader.pgid).toBeUndefined();
  });

  test("an unterminated marker longer than any pid is given up on", () => {
    const reader = new PgidMarkerReader();
    const long = `\x1e${"1".repeat(30)}`;
    expect(text(reader.feed(Buffer.from(long)))).toBe(long);
    expect(reader.done).toBe(true);
    expect(reader.pgid).toBeUndefined();
  });

  test("pids 0 and 1 are never taken as a group", () => {
    const reader = new PgidMarkerReader();
    reader.feed(Buffer.from("\x1e1\x1e"));
    expect(reader.pgid).toBeUndefined();
  });
});
