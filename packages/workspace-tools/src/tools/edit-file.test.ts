import { afterEach, beforeEach, expect, test } from "bun:test";
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeSandbox, makeTools, type Sandbox, toolContext } from "../../test/fixtures.ts";
import { occurrences } from "./edit-file.ts";

let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.cleanup());

const file = () => readFileSync(join(box.root, "a.ts"), "utf8");

test("replaces the one exact occurrence and says where", async () => {
  writeFileSync(join(box.root, "a.ts"), "const a = 1;\nconst b = 2;\nconst c = 3;\n");
  const { tools } = makeTools();
  const result = await tools.editFile.run(
    { path: "a.ts", oldText: "b = 2", newText: "b = 20;\n// x" },
    toolContext(box.root),
  );
  expect(result).toEqual({ output: "edited a.ts: replaced 1 occurrence at line 2 (now lines 2-3)" });
  expect(file()).toBe("const a = 1;\nconst b = 20;\n// x;\nconst c = 3;\n");
});

test("`$` patterns in newText stay literal", async () => {
  writeFileSync(join(box.root, "a.ts"), "price: X\n");
  const { tools } = makeTools();
  await tools.editFile.run({ path: "a.ts", oldText: "X", newText: "$& $1 $$" }, toolContext(box.root));
  expect(file()).toBe("price: $& $1 $$\n");
});

test("no match is an error saying 0 matches; the file is untouched", async () => {
  writeFileSync(join(box.root, "a.ts"), "abc\n");
  const { tools } = makeTools();
  const result = await tools.editFile.run(
    { path: "a.ts", oldText: "xyz", newText: "" },
    toolContext(box.root),
  );
  expect(result).toEqual({
    output: "oldText was not found in a.ts (0 matches); it must match exactly",
    isError: true,
  });
  expect(file()).toBe("abc\n");
});

test("several matches: the error says how many and where", async () => {
  writeFileSync(join(box.root, "a.ts"), "x = 1\ny = 2\nx = 1\nx = 1\n");
  const { tools } = makeTools();
  const result = await tools.editFile.run(
    { path: "a.ts", oldText: "x = 1", newText: "x = 9" },
    toolContext(box.root),
  );
  expect(result.isError).toBe(true);
  expect(result.output).toBe(
    "oldText occurs 3 times in a.ts (at lines 1, 3, 4); it must occur exactly once: include more surrounding text",
  );
  expect(file()).toBe("x = 1\ny = 2\nx = 1\nx = 1\n");
});

test("overlapping occurrences count as ambiguous", () => {
  expect(occurrences("aaa", "aa")).toEqual([0, 1]);
  expect(occurrences("abc", "d")).toEqual([]);
});

test("missing, binary and non-UTF-8 files are refused", async () => {
  const { tools } = makeTools();
  const ctx = toolContext(box.root);
  expect((await tools.editFile.run({ path: "nope", oldText: "a", newText: "b" }, ctx)).output).toContain(
    "no such file",
  );
  writeFileSync(join(box.root, "bin"), Buffer.from([97, 0, 98]));
  expect((await tools.editFile.run({ path: "bin", oldText: "a", newText: "b" }, ctx)).output).toBe(
    "bin is a binary file; not edited",
  );
  writeFileSync(join(box.root, "latin1"), Buffer.from([0x63, 0x61, 0x66, 0xe9])); // "café" in Latin-1
  expect((await tools.editFile.run({ path: "latin1", oldText: "c", newText: "C" }, ctx)).output).toBe(
    "latin1 is not valid UTF-8; not edited",
  );
  expect([...readFileSync(join(box.root, "latin1"))]).toEqual([0x63, 0x61, 0x66, 0xe9]);
});

test("refuses a symlink that leads out", async () => {
  writeFileSync(join(box.outside, "t.txt"), "target");
  symlinkSync(join(box.outside, "t.txt"), join(box.root, "t.txt"));
  const { tools } = makeTools();
  const result = await tools.editFile.run(
    { path: "t.txt", oldText: "target", newText: "pwned" },
    toolContext(box.root),
  );
  expect(result.isError).toBe(true);
  expect(result.output).toStartWith('refused path "t.txt"');
  expect(readFileSync(join(box.outside, "t.txt"), "utf8")).toBe("target");
});

test("composed and decomposed é hit the same lock", async () => {
  writeFileSync(join(box.root, "caf\u00e9.txt"), "v1");
  const { tools } = makeTools();
  const byA = await tools.editFile.run(
    { path: "caf\u00e9.txt", oldText: "v1", newText: "v2" },
    toolContext(box.root),
  );
  expect(byA.isError).toBeUndefined();
  const byB = await tools.editFile.run(
    { path: "cafe\u0301.txt", oldText: "v2", newText: "v3" },
    toolContext(box.root, { conversationId: "conv-b", turnId: "turn-b" }),
  );
  expect(byB.isError).toBe(true);
  expect(byB.output).toContain("locked by conversation conv-a");
  expect(readFileSync(join(box.root, "caf\u00e9.txt"), "utf8")).toBe("v2");
});

test("two conversations: the second is refused until the first turn's locks are released", async () => {
  writeFileSync(join(box.root, "a.ts"), "start\n");
  const { tools, locks } = makeTools();
  const a = toolContext(box.root, { conversationId: "conv-a", turnId: "turn-a" });
  const b = toolContext(box.root, { conversationId: "conv-b", turnId: "turn-b" });
  expect((await tools.writeFile.run({ path: "a.ts", content: "from A\n" }, a)).isError).toBeUndefined();
  const refused = await tools.editFile.run({ path: "a.ts", oldText: "from A", newText: "from B" }, b);
  expect(refused.isError).toBe(true);
  expect(refused.output).toContain("locked by conversation conv-a (turn turn-a)");
  // The same conversation's next turn may keep editing (it refreshes its own lock).
  const again = toolContext(box.root, { conversationId: "conv-a", turnId: "turn-a2" });
  expect(
    (await tools.editFile.run({ path: "a.ts", oldText: "from A", newText: "from A2" }, again)).isError,
  ).toBeUndefined();
  expect(await locks.releaseTurn("turn-a2")).toBe(1);
  const accepted = await tools.editFile.run({ path: "a.ts", oldText: "from A2", newText: "from B" }, b);
  expect(accepted).toEqual({ output: "edited a.ts: replaced 1 occurrence at line 1 (now lines 1-1)" });
  expect(file()).toBe("from B\n");
});
