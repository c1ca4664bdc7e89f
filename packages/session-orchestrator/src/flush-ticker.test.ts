import { describe, expect, test } from "bun:test";
import { until } from "../test/fixtures/until.ts";
import { FlushTicker } from "./flush-ticker.ts";

function buffer(log: string[], name: string) {
  return { flush: () => log.push(name) };
}

describe("FlushTicker", () => {
  test("flushes every marked buffer once on a single timer, and disarms when idle", async () => {
    const log: string[] = [];
    const ticker = new FlushTicker(5, (error) => {
      throw error;
    });
    const a = buffer(log, "a");
    const b = buffer(log, "b");
    expect(ticker.armed).toBe(false);
    ticker.mark(a);
    ticker.mark(b);
    ticker.mark(a);
    expect(ticker.armed).toBe(true);
    await until(() => !ticker.armed);
    expect(log.sort()).toEqual(["a", "b"]);
    expect(ticker.armed).toBe(false);
    ticker.dispose();
  });

  test("an unmarked buffer is not flushed; a buffer marked during its flush waits for another tick", async () => {
    const log: string[] = [];
    const ticker = new FlushTicker(5, () => {});
    const a = buffer(log, "a");
    const c = buffer(log, "c");
    const b = {
      flush: () => {
        log.push("b");
        ticker.mark(c);
      },
    };
    ticker.mark(a);
    ticker.mark(b);
    ticker.unmark(a);
    await until(() => log.includes("c"));
    expect(log).toEqual(["b", "c"]);
    expect(ticker.armed).toBe(false);
    ticker.dispose();
  });

  test("each buffer is flushed an interval after its first mark, with those due within a fifth of it", async () => {
    // the clock is moved by hand; the ticker reads it to set its timer and to pick what is due
    let now = 0;
    const log: string[] = [];
    const ticker = new FlushTicker(
      50,
      () => {},
      () => now,
    );
    ticker.mark(buffer(log, "a"));
    now = 5;
    ticker.mark(buffer(log, "b")); // due at 55: within 10 ms of a's deadline, so it goes with a
    now = 40;
    const c = buffer(log, "c");
    ticker.mark(c); // due at 90
    ticker.mark(c); // a second mark keeps the first one's deadline
    now = 50; // when the timer (set at a's mark, for 50 ms) fires
    await until(() => log.length === 2);
    expect(log).toEqual(["a", "b"]);
    expect(ticker.armed).toBe(true);
    now = 89; // the timer is set for c's deadline, 40 ms after 50; at 89 c is due within 10 ms
    await until(() => log.length === 3);
    expect(log).toEqual(["a", "b", "c"]);
    expect(ticker.armed).toBe(false);
    ticker.dispose();
  });

  test("a throwing buffer is reported and does not stop the others", async () => {
    const errors: unknown[] = [];
    const log: string[] = [];
    const ticker = new FlushTicker(5, (error) => errors.push(error));
    ticker.mark({
      flush: () => {
        throw new Error("boom");
      },
    });
    ticker.mark(buffer(log, "ok"));
    await until(() => !ticker.armed);
    expect(log).toEqual(["ok"]);
    expect(errors).toHaveLength(1);
    ticker.dispose();
  });

  test("dispose clears the timer and ignores later marks", async () => {
    const log: string[] = [];
    const ticker = new FlushTicker(5, () => {});
    ticker.mark(buffer(log, "a"));
    ticker.dispose();
    expect(ticker.armed).toBe(false);
    ticker.mark(buffer(log, "b"));
    expect(ticker.armed).toBe(false);
    await Bun.sleep(20);
    expect(log).toEqual([]);
  });

  test("rejects a bad interval with a clear message", () => {
    expect(() => new FlushTicker(0, () => {})).toThrow(
      "Expected `intervalMs` to be an integer >= 1, got `0`",
    );
  });
});
