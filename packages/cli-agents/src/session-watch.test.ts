import { expect, test } from "bun:test";
import { parseCaptures } from "./pane-capture.ts";
import { SessionWatch } from "./session-watch.ts";

const capture = (text: string) => parseCaptures(`\x1fa 0 0 1 1 80 0 0\n${text}\n`)[0]!;

test("outputs in a row merge, so the mailbox stays small while the turn is busy", async () => {
  const watch = new SessionWatch();
  watch.post({ kind: "output", capture: capture("one"), lines: ["1"], skipped: 0 });
  watch.post({ kind: "output", capture: capture("two"), lines: ["2"], skipped: 3 });
  watch.post({ kind: "quiet" });
  watch.post({ kind: "output", capture: capture("three"), lines: [], skipped: 0 });
  expect(watch.pending).toBe(3);
  const abort = new AbortController();
  const merged = await watch.next(abort.signal);
  expect(merged.kind === "output" && [merged.lines, merged.skipped, merged.capture.text]).toEqual([
    ["1", "2"],
    3,
    "two\n",
  ]);
  expect((await watch.next(abort.signal)).kind).toBe("quiet");
  expect((await watch.next(abort.signal)).kind).toBe("output");
});

test("a wait ends with the abort reason", async () => {
  const watch = new SessionWatch();
  const abort = new AbortController();
  const waiting = watch.next(abort.signal);
  abort.abort(new Error("cancelled"));
  expect(waiting).rejects.toThrow("cancelled");
  const later = new SessionWatch();
  setTimeout(() => later.post({ kind: "due" }), 1);
  expect((await later.next(new AbortController().signal)).kind).toBe("due");
});
