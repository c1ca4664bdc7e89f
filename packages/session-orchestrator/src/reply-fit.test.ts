import { describe, expect, test } from "bun:test";
import { fitReply } from "./reply-fit.ts";

const call = { type: "tool-call" as const, toolCallId: "t1", toolName: "echo", input: { text: "x" } };

describe("fitReply", () => {
  test("a reply within the limit is stored as it is", () => {
    const parts = [{ type: "text" as const, text: "hello" }, call];
    expect(fitReply(parts, 1024)).toEqual({ parts });
  });

  test("a longer reply is cut at a character boundary, with a marker, and fits the limit exactly or under", () => {
    // 1, 2, 3 and 4 UTF-8 bytes per character, so a cut can fall inside any of them.
    const text = "añ€𝄞".repeat(5_000);
    for (const maxBytes of [1_000, 1_001, 1_002, 1_003, 4_096]) {
      const { parts, truncated } = fitReply([{ type: "text", text }, call], maxBytes);
      const stored = parts[0]?.type === "text" ? parts[0].text : "";
      expect(Buffer.byteLength(stored, "utf8")).toBeLessThanOrEqual(maxBytes);
      expect(stored).not.toContain("\uFFFD");
      expect(truncated?.bytes).toBe(50_000);
      const kept = truncated?.keptBytes ?? 0;
      expect(text.startsWith(Buffer.from(text).subarray(0, kept).toString("utf8"))).toBe(true);
      expect(stored).toContain(
        `[reply truncated: the model wrote 50000 bytes, more than a stored message holds (${maxBytes}); the first ${kept} are kept here`,
      );
      expect(parts.slice(1)).toEqual([call]);
    }
  });
});
