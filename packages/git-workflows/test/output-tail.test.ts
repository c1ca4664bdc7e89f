import { describe, expect, test } from "bun:test";
import { KeyedMutex } from "../src/keyed-mutex.ts";
import { OutputTail } from "../src/output-tail.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("OutputTail", () => {
  test("keeps the last maxBytes of many chunks, and memory stays near the bound", () => {
    const tail = new OutputTail(10);
    for (let i = 0; i < 1000; i++) tail.push(bytes(`${i % 10}`));
    expect(tail.text()).toBe("0123456789");
    expect(tail.totalBytes).toBe(1000);
  });

  test("one chunk longer than the bound is cut to its end", () => {
    const tail = new OutputTail(4);
    tail.push(bytes("abcdefgh"));
    expect(tail.text()).toBe("efgh");
  });

  test("a character cut at the front is dropped, not shown broken", () => {
    const tail = new OutputTail(5);
    tail.push(bytes("xxé1234"));
    // "é" is two bytes; the cut leaves only its second byte, which is dropped
    expect(tail.text()).toBe("1234");
  });
});

describe("KeyedMutex", () => {
  test("work under one key runs one at a time in order; other keys run alongside; idle keys are dropped", async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = mutex.run("repo", async () => {
      log.push("first start");
      await gate;
      log.push("first end");
    });
    const second = mutex.run("repo", async () => {
      log.push("second");
    });
    const other = mutex.run("other", async () => {
      log.push("other");
    });
    await other;
    expect(log).toEqual(["first start", "other"]);
    release();
    await Promise.all([first, second]);
    expect(log).toEqual(["first start", "other", "first end", "second"]);
    expect(mutex.size).toBe(0);
  });

  test("a failure is the caller's and does not block the next", async () => {
    const mutex = new KeyedMutex();
    await expect(mutex.run("k", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await mutex.run("k", async () => 7)).toBe(7);
    expect(mutex.size).toBe(0);
  });
});
