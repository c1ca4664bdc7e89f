import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ChannelBudget, isChannelRefusal } from "./channel-budget.ts";

describe("ChannelBudget", () => {
  test("a refusal lowers the limit to the channels sshd held when it answered", () => {
    const budget = new ChannelBudget(8);
    const first = budget.beginOpen();
    const second = budget.beginOpen();
    const third = budget.beginOpen();
    budget.opened(first);
    budget.opened(second);
    budget.refused(third);
    expect(budget.limit).toBe(2);
  });

  test("the sftp session counts against the limit", () => {
    const budget = new ChannelBudget(8);
    budget.sftpHeld = true;
    const exec = budget.beginOpen();
    budget.opened(exec);
    budget.refused(budget.beginOpen());
    expect(budget.limit).toBe(2);
    expect(budget.inUse).toBe(1);
  });

  test("a refusal just after a close does not shrink the limit below what was already held", () => {
    const budget = new ChannelBudget(8);
    const a = budget.beginOpen();
    const b = budget.beginOpen();
    budget.opened(a);
    budget.opened(b);
    budget.endOpen(a);
    budget.endOpen(b);
    // sshd has not freed the two sessions yet and refuses: it said nothing new about its limit.
    budget.refused(budget.beginOpen());
    expect(budget.limit).toBe(2);
  });

  test("a success after a refusal in sshd's clean-up moment raises the limit again, not past the maximum", () => {
    const budget = new ChannelBudget(3);
    budget.refused(budget.beginOpen());
    expect(budget.limit).toBe(1);
    const a = budget.beginOpen();
    const b = budget.beginOpen();
    budget.opened(a);
    budget.opened(b);
    expect(budget.limit).toBe(2);
    const c = budget.beginOpen();
    const d = budget.beginOpen();
    budget.opened(c);
    budget.opened(d);
    expect(budget.limit).toBe(3);
  });

  test("invariants: the limit stays within [1, configured] and never drops below the peak held", () => {
    type Op = { kind: "open" | "succeed" | "refuse" | "close"; pick: number };
    const op = fc.record({
      kind: fc.constantFrom<Op["kind"]>("open", "succeed", "refuse", "close"),
      pick: fc.nat(),
    });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.array(op, { maxLength: 60 }), (start, ops) => {
        const budget = new ChannelBudget(start);
        const pending: number[] = [];
        const open: number[] = [];
        let peak = 0;
        for (const step of ops) {
          if (step.kind === "open") pending.push(budget.beginOpen());
          else if (step.kind === "succeed" && pending.length > 0) {
            const seq = pending.splice(step.pick % pending.length, 1)[0] as number;
            budget.opened(seq);
            open.push(seq);
            peak = Math.max(peak, open.length);
          } else if (step.kind === "refuse" && pending.length > 0) {
            budget.refused(pending.splice(step.pick % pending.length, 1)[0] as number);
          } else if (step.kind === "close" && open.length > 0) {
            budget.endOpen(open.splice(step.pick % open.length, 1)[0] as number);
          }
          expect(budget.limit).toBeLessThanOrEqual(start);
          expect(budget.limit).toBeGreaterThanOrEqual(1);
          expect(budget.limit).toBeGreaterThanOrEqual(Math.min(peak, start));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("isChannelRefusal", () => {
  test("recognises ssh2's refusal and lost-before-open errors only", () => {
    expect(
      isChannelRefusal(Object.assign(new Error("(SSH) Channel open failure: open failed"), { reason: 2 })),
    ).toBe(true);
    expect(isChannelRefusal(new Error("No response from server"))).toBe(true);
    expect(isChannelRefusal(new Error("Not connected"))).toBe(true);
    expect(isChannelRefusal(new Error("Unable to exec"))).toBe(false);
    expect(isChannelRefusal("open failed")).toBe(false);
  });
});
