import { describe, expect, test } from "bun:test";
import { defineExtension } from "./manifest.ts";
import { createTestHost } from "./testing.ts";
import { maxTimerDelayMs, setLongTimeout, timerDelayMs } from "./timer-delay.ts";

const beyondLimit = 2 ** 31 + 10_000;

describe("setLongTimeout", () => {
  test("the platform's setTimeout turns a delay past 2^31 - 1 ms into 1 ms (why the helper exists)", async () => {
    const fired = await new Promise<boolean>((resolve) => {
      const handle = setTimeout(() => resolve(true), beyondLimit);
      handle.unref();
    });
    expect(fired).toBe(true);
  });

  test("a delay past the limit does not fire early", async () => {
    let fired = false;
    const cancel = setLongTimeout(() => {
      fired = true;
    }, beyondLimit);
    await Bun.sleep(50);
    expect(fired).toBe(false);
    cancel();
  });

  test("Infinity never fires; a short, a zero, a negative and a NaN delay fire once; cancel stops it", async () => {
    const fired: string[] = [];
    const never = setLongTimeout(() => fired.push("infinity"), Number.POSITIVE_INFINITY);
    const cancelled = setLongTimeout(() => fired.push("cancelled"), 5);
    cancelled();
    cancelled();
    await Promise.all(
      [
        ["short", 5],
        ["zero", 0],
        ["negative", -100],
        ["nan", Number.NaN],
      ].map(
        ([name, ms]) =>
          new Promise<void>((resolve) =>
            setLongTimeout(() => {
              fired.push(name as string);
              resolve();
            }, ms as number),
          ),
      ),
    );
    await Bun.sleep(20);
    expect(fired.sort()).toEqual(["nan", "negative", "short", "zero"]);
    never();
  });
});

describe("timerDelayMs", () => {
  test("refuses what a timer cannot wait for, with the bound in the message", () => {
    const schema = timerDelayMs(1);
    expect(schema.safeParse(maxTimerDelayMs).success).toBe(true);
    const over = schema.safeParse(maxTimerDelayMs + 1);
    expect(over.success).toBe(false);
    expect(over.error?.issues[0]?.message).toBe(
      "must be at most 2147483647 ms (about 24.8 days, the longest timer)",
    );
    expect(schema.safeParse(0).success).toBe(false);
  });
});

describe("extension timers", () => {
  test("ctx.setTimeout waits past the limit; ctx.setInterval refuses a period it cannot keep", async () => {
    let fired = false;
    let refusal = "";
    const timers = defineExtension({
      manifest: { id: "timers", version: "0.0.1" },
      activate(ctx) {
        ctx.setTimeout(() => {
          fired = true;
        }, beyondLimit);
        try {
          ctx.setInterval(() => {}, beyondLimit);
        } catch (error) {
          refusal = (error as Error).message;
        }
      },
    });
    const t = await createTestHost({ extensions: [timers] });
    try {
      await Bun.sleep(50);
      expect(fired).toBe(false);
      expect(refusal).toBe(
        `Expected the interval of extension "timers" to be 1..2147483647 ms, got \`${beyondLimit}\``,
      );
    } finally {
      await t.stop();
    }
  });
});
