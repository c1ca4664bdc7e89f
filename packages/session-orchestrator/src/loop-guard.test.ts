import { describe, expect, test } from "bun:test";
import { canonicalJson, LoopGuard } from "./loop-guard.ts";

describe("LoopGuard", () => {
  test("runs the first repeats-1 identical calls, refuses from the repeats-th, stops at twice repeats", () => {
    const guard = new LoopGuard(3);
    const verdicts = Array.from({ length: 6 }, () => guard.check("read_file", { path: "a" }).action);
    expect(verdicts).toEqual(["run", "run", "refuse", "refuse", "refuse", "stop"]);
  });

  test("another call in between starts the count again; key order does not make a call different", () => {
    const guard = new LoopGuard(2);
    expect(guard.check("grep", { a: 1, b: 2 }).action).toBe("run");
    expect(guard.check("grep", { b: 2, a: 1 }).action).toBe("refuse");
    expect(guard.check("grep", { a: 1, b: 3 }).action).toBe("run");
    expect(guard.check("list_dir", { a: 1, b: 3 }).action).toBe("run");
    expect(guard.check("list_dir", { a: 1, b: 3 }).action).toBe("refuse");
    expect(guard.check("list_dir", { a: 1, b: 3 }).action).toBe("refuse");
    const stop = guard.check("list_dir", { b: 3, a: 1 });
    expect(stop).toEqual({
      action: "stop",
      message:
        'the model called "list_dir" with the same input 4 times in a row (loopGuard.repeats is 2); the turn was stopped',
    });
  });

  test("the refusal tells the model what happened and what to do", () => {
    const guard = new LoopGuard(2);
    guard.check("bash", { command: "ls" });
    const verdict = guard.check("bash", { command: "ls" });
    expect(verdict.action).toBe("refuse");
    if (verdict.action !== "refuse") return;
    expect(verdict.message).toContain('call 2 in a row of "bash" with the same input');
    expect(verdict.message).toContain("not run");
    expect(verdict.message).toContain("At 4 identical calls in a row the turn ends");
  });

  test("canonicalJson sorts keys at every depth and keeps array order", () => {
    expect(canonicalJson({ b: { d: 1, c: [2, { f: 1, e: 0 }] }, a: null })).toBe(
      '{"a":null,"b":{"c":[2,{"e":0,"f":1}],"d":1}}',
    );
    expect(canonicalJson(undefined)).toBe("undefined");
  });
});
