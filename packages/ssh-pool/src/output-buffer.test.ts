import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { OutputBuffer } from "./output-buffer.ts";

describe("OutputBuffer", () => {
  test("keeps exactly the first `limit` bytes and says whether more came", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 10 }),
        fc.integer({ min: 0, max: 120 }),
        (chunks, limit) => {
          const buffer = new OutputBuffer(limit);
          for (const chunk of chunks) buffer.push(chunk);
          const all = Buffer.concat(chunks);
          expect(buffer.truncated).toBe(all.length > limit);
          expect(buffer.text()).toBe(new TextDecoder().decode(all.subarray(0, limit)));
        },
      ),
    );
  });

  test("a character cut at the cap becomes U+FFFD rather than an exception", () => {
    const buffer = new OutputBuffer(2);
    buffer.push(Buffer.from("é€"));
    expect(buffer.text()).toBe("é");
    const cut = new OutputBuffer(3);
    cut.push(Buffer.from("é€"));
    expect(cut.text()).toBe("é\uFFFD");
    expect(cut.truncated).toBe(true);
  });
});
