import { describe, expect, test } from "bun:test";
import { FlushTicker } from "./flush-ticker.ts";
import { splitText, TextCoalescer } from "./text-coalescer.ts";

describe("TextCoalescer", () => {
  test("small deltas wait for the tick and leave as one piece, in order", async () => {
    const ticker = new FlushTicker(5, () => {});
    const out: string[] = [];
    const coalescer = new TextCoalescer(ticker, 4096, (text) => out.push(text));
    for (const piece of ["Hel", "lo", ", ", "world"]) coalescer.push(piece);
    expect(out).toEqual([]);
    expect(coalescer.pendingBytes).toBe(12);
    // However late the tick runs on a busy machine, it writes everything as one piece.
    for (const deadline = Date.now() + 5000; ticker.armed && Date.now() < deadline; ) await Bun.sleep(2);
    expect(out).toEqual(["Hello, world"]);
    expect(ticker.armed).toBe(false);
    ticker.dispose();
  });

  test("reaching maxBytes (in UTF-8 bytes) writes at once", () => {
    const ticker = new FlushTicker(1000, () => {});
    const out: string[] = [];
    const coalescer = new TextCoalescer(ticker, 8, (text) => out.push(text));
    coalescer.push("ééé"); // 6 bytes
    expect(out).toEqual([]);
    coalescer.push("é"); // 8 bytes
    expect(out).toEqual(["éééé"]);
    expect(coalescer.pendingBytes).toBe(0);
    ticker.dispose();
  });

  test("take() empties the buffer and cancels the pending tick for it", async () => {
    const ticker = new FlushTicker(5, () => {});
    const out: string[] = [];
    const coalescer = new TextCoalescer(ticker, 4096, (text) => out.push(text));
    coalescer.push("a");
    coalescer.push("");
    expect(coalescer.take()).toBe("a");
    expect(coalescer.take()).toBeUndefined();
    await Bun.sleep(20);
    expect(out).toEqual([]);
    ticker.dispose();
  });
});

describe("splitText", () => {
  test("leaves short text whole and never cuts a surrogate pair", () => {
    expect(splitText("abc", 5)).toEqual(["abc"]);
    const text = `ab${"😀".repeat(3)}`;
    const pieces = splitText(text, 3);
    expect(pieces.join("")).toBe(text);
    for (const piece of pieces) {
      expect(piece.length).toBeLessThanOrEqual(3);
      expect(piece.isWellFormed()).toBe(true);
    }
  });
});
