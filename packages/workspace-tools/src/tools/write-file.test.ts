import { afterEach, beforeEach, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { makeSandbox, makeTools, type Sandbox, toolContext } from "../../test/fixtures.ts";

let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.cleanup());

test("creates a file with its missing directories, then overwrites it", async () => {
  const { tools } = makeTools();
  const ctx = toolContext(box.root);
  expect(await tools.writeFile.run({ path: "src/deep/a.txt", content: "héllo" }, ctx)).toEqual({
    output: "created src/deep/a.txt (6 bytes)",
  });
  expect(readFileSync(join(box.root, "src/deep/a.txt"), "utf8")).toBe("héllo");
  expect((await tools.writeFile.run({ path: "src/deep/a.txt", content: "" }, ctx)).output).toBe(
    "overwrote src/deep/a.txt (0 bytes)",
  );
  expect(readFileSync(join(box.root, "src/deep/a.txt"), "utf8")).toBe("");
});

test("creates the workspace root when it does not exist yet", async () => {
  const root = join(box.dir, "fresh", "workspace");
  const { tools } = makeTools();
  const result = await tools.writeFile.run({ path: "a.txt", content: "x" }, toolContext(root));
  expect(result.isError).toBeUndefined();
  expect(readFileSync(join(root, "a.txt"), "utf8")).toBe("x");
});

test("takes the turn's lock on the normalised path", async () => {
  const { tools, locks } = makeTools();
  await tools.writeFile.run({ path: "./dir/../caf\u00e9.txt", content: "x" }, toolContext(box.root));
  expect((await locks.list("ws")).map((l) => [l.path, l.conversationId, l.turnId])).toEqual([
    ["caf\u00e9.txt", "conv-a", "turn-a"],
  ]);
});

test("refuses directories, the root, escapes and symlinks that lead out, writing nothing outside", async () => {
  mkdirSync(join(box.root, "d"));
  symlinkSync(box.outside, join(box.root, "out"));
  symlinkSync(join(box.outside, "ghost.txt"), join(box.root, "ghost.txt"));
  const { tools, locks } = makeTools();
  const ctx = toolContext(box.root);
  expect((await tools.writeFile.run({ path: "d", content: "x" }, ctx)).output).toBe("d is a directory");
  expect((await tools.writeFile.run({ path: ".", content: "x" }, ctx)).isError).toBe(true);
  for (const path of [
    "../outside/a.txt",
    join(box.outside, "a.txt"),
    "out/a.txt",
    "out/new/a.txt",
    "ghost.txt",
  ]) {
    const result = await tools.writeFile.run({ path, content: "x" }, ctx);
    expect(result.isError).toBe(true);
    expect(result.output).toStartWith(`refused path "${path}"`);
  }
  expect(existsSync(join(box.outside, "a.txt"))).toBe(false);
  expect(existsSync(join(box.outside, "new"))).toBe(false);
  expect(existsSync(join(box.outside, "ghost.txt"))).toBe(false);
  expect(await locks.list("ws")).toEqual([]);
});

test("another conversation's lock is a tool error naming the holder; the file is untouched", async () => {
  const { tools } = makeTools();
  await tools.writeFile.run({ path: "a.txt", content: "A" }, toolContext(box.root));
  const result = await tools.writeFile.run(
    { path: "a.txt", content: "B" },
    toolContext(box.root, { conversationId: "conv-b", turnId: "turn-b" }),
  );
  expect(result.isError).toBe(true);
  expect(result.output).toContain('"a.txt" is locked by conversation conv-a (turn turn-a)');
  expect(result.output).toContain("released when that turn ends");
  expect(readFileSync(join(box.root, "a.txt"), "utf8")).toBe("A");
});

test("a turn cancelled while the lock is being taken writes nothing and keeps no lock", async () => {
  const { tools, locks } = makeTools();
  const controller = new AbortController();
  const acquire = locks.acquire.bind(locks);
  locks.acquire = async (input) => {
    const result = await acquire(input);
    controller.abort();
    return result;
  };
  const result = await tools.writeFile.run(
    { path: "late.txt", content: "x" },
    toolContext(box.root, { signal: controller.signal }),
  );
  expect(result).toEqual({ output: "the turn was cancelled; late.txt was not changed", isError: true });
  expect(existsSync(join(box.root, "late.txt"))).toBe(false);
  expect(await locks.list("ws")).toEqual([]);
});
