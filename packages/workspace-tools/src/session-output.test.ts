import { describe, expect, test } from "bun:test";
import type { OutputChunk } from "./execution-session.ts";
import { SessionOutput } from "./session-output.ts";

/** A source that records whether it was told to pause. */
function source() {
  const calls: string[] = [];
  return {
    calls,
    flow: { pause: () => calls.push("pause"), resume: () => calls.push("resume") },
  };
}

const bytes = (n: number) => new Uint8Array(n);

async function drain(output: SessionOutput): Promise<OutputChunk[]> {
  const all: OutputChunk[] = [];
  for await (const chunk of output) all.push(chunk);
  return all;
}

describe("SessionOutput", () => {
  test("pauses its source at the bound and resumes it once the reader takes it below", async () => {
    const { calls, flow } = source();
    const output = new SessionOutput(10, flow);
    output.push("stdout", bytes(4));
    output.push("stderr", bytes(4));
    expect(calls).toEqual([]);
    output.push("stdout", bytes(4));
    expect(calls).toEqual(["pause"]);
    expect(output.bufferedBytes).toBe(12);
    const iterator = output[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.stream).toBe("stdout");
    expect(calls).toEqual(["pause", "resume"]);
    expect(output.bufferedBytes).toBe(8);
  });

  test("keeps order and streams, then ends", async () => {
    const output = new SessionOutput(100, source().flow);
    output.push("stdout", Uint8Array.of(1));
    output.push("stderr", Uint8Array.of(2));
    output.end();
    output.push("stdout", Uint8Array.of(3));
    expect(await drain(output)).toEqual([
      { stream: "stdout", data: Uint8Array.of(1) },
      { stream: "stderr", data: Uint8Array.of(2) },
    ]);
  });

  test("a waiting reader gets a chunk straight away, without buffering", async () => {
    const output = new SessionOutput(100, source().flow);
    const iterator = output[Symbol.asyncIterator]();
    const next = iterator.next();
    output.push("stdout", Uint8Array.of(7));
    expect(output.bufferedBytes).toBe(0);
    expect((await next).value).toEqual({ stream: "stdout", data: Uint8Array.of(7) });
  });

  test("an error is thrown after the chunks read before it", async () => {
    const output = new SessionOutput(100, source().flow);
    output.push("stdout", Uint8Array.of(1));
    output.end(new Error("connection lost"));
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const chunk of output) seen.push(chunk.data[0] ?? -1);
      })(),
    ).rejects.toThrow("connection lost");
    expect(seen).toEqual([1]);
  });

  test("one loop at a time; a later loop continues where the last one stopped", async () => {
    const output = new SessionOutput(100, source().flow);
    for (const n of [1, 2, 3]) output.push("stdout", Uint8Array.of(n));
    output.end();
    const first = output[Symbol.asyncIterator]();
    expect(() => output[Symbol.asyncIterator]()).toThrow(/one loop at a time/);
    for await (const chunk of { [Symbol.asyncIterator]: () => first }) {
      expect(chunk.data[0]).toBe(1);
      break;
    }
    expect((await drain(output)).map((chunk) => chunk.data[0])).toEqual([2, 3]);
  });

  test("discard drops what is held, ends the output and lets a paused source flow", async () => {
    const { calls, flow } = source();
    const output = new SessionOutput(2, flow);
    output.push("stdout", bytes(5));
    output.discard();
    expect(output.bufferedBytes).toBe(0);
    expect(calls).toEqual(["pause", "resume"]);
    expect(await drain(output)).toEqual([]);
  });

  test("refuses a bound that is not a positive integer", () => {
    expect(() => new SessionOutput(0, source().flow)).toThrow(
      "Expected `maxBufferedBytes` to be an integer >= 1, got `0`",
    );
  });
});
