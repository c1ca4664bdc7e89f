import { describe, expect, test } from "bun:test";
import { DeadlineWatch } from "./deadline-watch.ts";

describe("DeadlineWatch", () => {
  test("fires each deadline once, earliest first, on one timer; removed ones never fire", async () => {
    const fired: string[] = [];
    const watch = new DeadlineWatch((error) => {
      throw error;
    });
    const now = Date.now();
    watch.add(now + 30, () => fired.push("late"));
    const cancel = watch.add(now + 10, () => fired.push("removed"));
    watch.add(now + 5, () => fired.push("early"));
    cancel();
    expect(watch.size).toBe(2);
    await Bun.sleep(60);
    expect(fired).toEqual(["early", "late"]);
    expect(watch.size).toBe(0);
    expect(watch.armed).toBe(false);
  });

  test("deadlines a late timer finds past all at once still expire earliest first, not in the order added", async () => {
    const fired: string[] = [];
    const watch = new DeadlineWatch((error) => {
      throw error;
    });
    const now = Date.now();
    // All three are past when the first firing runs, as they are when a busy machine fires late.
    watch.add(now - 10, () => fired.push("third"));
    watch.add(now - 30, () => fired.push("first"));
    watch.add(now - 20, () => fired.push("second"));
    await Bun.sleep(20);
    expect(fired).toEqual(["first", "second", "third"]);
  });

  test("removing the last deadline disarms the timer; dispose forgets everything", () => {
    const watch = new DeadlineWatch(() => {});
    const remove = watch.add(Date.now() + 10_000, () => {});
    expect(watch.armed).toBe(true);
    remove();
    expect(watch.armed).toBe(false);
    watch.add(Date.now() + 10_000, () => {});
    watch.dispose();
    expect(watch.armed).toBe(false);
    expect(watch.size).toBe(0);
  });

  test("a throwing callback is reported and the rest still fire", async () => {
    const errors: unknown[] = [];
    const fired: string[] = [];
    const watch = new DeadlineWatch((error) => errors.push(error));
    watch.add(Date.now(), () => {
      throw new Error("boom");
    });
    watch.add(Date.now(), () => fired.push("ok"));
    await Bun.sleep(20);
    expect(errors).toHaveLength(1);
    expect(fired).toEqual(["ok"]);
  });
});
