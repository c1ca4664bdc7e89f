import { expect, test } from "bun:test";
import { LineTracker } from "./line-tracker.ts";
import { captureCommands, chain, parseCaptures, rowsOf } from "./pane-capture.ts";

const meta = (name: string, hs: number, cy: number, h: number) => `\x1f${name} ${hs} 0 ${cy} ${h} 80 0 0\n`;

test("captures are split by row count, so rows that look like marks are only rows", () => {
  const out = `${meta("a", 0, 1, 2)}\x1fb 9 9 9 9 9 9 9\nsecond\n${meta("b", 0, 0, 1)}only\n`;
  const [a, b, ...rest] = parseCaptures(out);
  expect(rest).toEqual([]);
  expect(rowsOf(a!)).toEqual(["\x1fb 9 9 9 9 9 9 9", "second"]);
  expect(rowsOf(b!)).toEqual(["only"]);
  // a pane whose rows were cut short (tmux stopped at a later command) is not returned
  expect(parseCaptures(`${meta("a", 0, 0, 3)}one\ntwo\n`)).toEqual([]);
  // a missing pane's display-message prints empty fields
  expect(parseCaptures("\x1fgone      \n")).toEqual([]);
});

test("commands are chained with lone ';' arguments", () => {
  expect(chain([["a", "1"], ["b"]])).toEqual(["a", "1", ";", "b"]);
  expect(captureCommands("s", 5)).toContain("-S");
});

test("the line tracker reports complete lines once, from history when they scrolled past", () => {
  const tracker = new LineTracker();
  const first = parseCaptures(`${meta("a", 0, 2, 3)}one\ntwo\n> \n`)[0]!;
  expect(tracker.take(first)).toEqual({ lines: ["one", "two"], skipped: 0 });
  expect(tracker.take(first)).toEqual({ lines: [], skipped: 0 });
  // five more lines were written; two scrolled into history, the capture shows only the screen
  const later = parseCaptures(`${meta("a", 4, 2, 3)}five\nsix\n> \n`)[0]!;
  expect(tracker.historyNeeded(later)).toBe(2);
  const withHistory = parseCaptures(`${meta("a", 4, 2, 3)}three\nfour\nfive\nsix\n> \n`, () => 2)[0]!;
  expect(tracker.take(withHistory)).toEqual({ lines: ["three", "four", "five", "six"], skipped: 0 });
  // a redraw that moves the cursor up reports nothing again
  const redraw = parseCaptures(`${meta("a", 4, 0, 3)}five!\nsix\n> \n`)[0]!;
  expect(tracker.take(redraw)).toEqual({ lines: [], skipped: 0 });
  // lines out of reach are counted as skipped
  const far = parseCaptures(`${meta("a", 20, 1, 3)}late\n> \n\n`)[0]!;
  expect(tracker.take(far)).toEqual({ lines: ["late"], skipped: 14 });
});
