import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { CircuitBreaker } from "./circuit-breaker.ts";

function clock(start = 1_000) {
  const c = { now: start, read: () => c.now };
  return c;
}

describe("CircuitBreaker", () => {
  test("opens at the threshold of consecutive failures, not before", () => {
    const time = clock();
    const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 100, now: time.read });
    expect(breaker.recordFailure()).toBe(false);
    expect(breaker.recordFailure()).toBe(false);
    expect(breaker.state).toBe("closed");
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.recordFailure()).toBe(true);
    expect(breaker.state).toBe("open");
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.retryInMs).toBe(100);
  });

  test("a success resets the count", () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 100, now: clock().read });
    breaker.recordFailure();
    breaker.recordSuccess();
    breaker.recordFailure();
    expect(breaker.state).toBe("closed");
    expect(breaker.consecutiveFailures).toBe(1);
  });

  test("half-opens after the cool-down and lets exactly one trial through", () => {
    const time = clock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100, now: time.read });
    breaker.recordFailure();
    time.now += 99;
    expect(breaker.state).toBe("open");
    time.now += 1;
    expect(breaker.state).toBe("half-open");
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
  });

  test("a failed trial reopens for a full cool-down; a good one closes", () => {
    const time = clock();
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100, now: time.read });
    breaker.recordFailure();
    time.now += 100;
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.recordFailure()).toBe(true);
    expect(breaker.state).toBe("open");
    time.now += 100;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.recordSuccess();
    expect(breaker.state).toBe("closed");
    expect(breaker.consecutiveFailures).toBe(0);
  });

  test("invariant: never more than one trial in flight while not closed", () => {
    type Op = { kind: "acquire" } | { kind: "fail" } | { kind: "succeed" } | { kind: "tick"; ms: number };
    const op = fc.oneof(
      fc.constant<Op>({ kind: "acquire" }),
      fc.constant<Op>({ kind: "fail" }),
      fc.constant<Op>({ kind: "succeed" }),
      fc.integer({ min: 0, max: 150 }).map<Op>((ms) => ({ kind: "tick", ms })),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 60 }), (threshold, ops) => {
        const time = clock();
        const breaker = new CircuitBreaker({ failureThreshold: threshold, cooldownMs: 100, now: time.read });
        let trials = 0;
        for (const step of ops) {
          if (step.kind === "tick") time.now += step.ms;
          else if (step.kind === "acquire") {
            const before = breaker.state;
            const granted = breaker.tryAcquire();
            if (before === "open") expect(granted).toBe(false);
            if (granted && before !== "closed") trials += 1;
            if (before !== "closed") expect(trials).toBeLessThanOrEqual(1);
          } else if (step.kind === "fail") {
            breaker.recordFailure();
            trials = 0;
          } else {
            breaker.recordSuccess();
            trials = 0;
          }
          if (breaker.consecutiveFailures >= threshold) expect(breaker.state).not.toBe("closed");
        }
      }),
    );
  });
});
