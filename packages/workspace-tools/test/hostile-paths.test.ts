import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { makeSandbox, makeTools, type Sandbox, toolContext } from "./fixtures.ts";

let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
  writeFileSync(join(box.outside, "secret.txt"), "OUTSIDE-SECRET\n");
});
afterEach(() => box.cleanup());

describe("hard links", () => {
  test("read_file, write_file and edit_file refuse a hard link to a file outside the root", async () => {
    const { tools } = makeTools();
    linkSync(join(box.outside, "secret.txt"), join(box.root, "hl"));
    const ctx = toolContext(box.root);
    const read = await tools.readFile.run({ path: "hl" }, ctx);
    expect(read.isError).toBe(true);
    expect(read.output).not.toContain("OUTSIDE-SECRET");
    expect(read.output).toContain("has 2 hard links");
    const written = await tools.writeFile.run({ path: "hl", content: "pwned\n" }, ctx);
    expect(written.isError).toBe(true);
    const edited = await tools.editFile.run({ path: "hl", oldText: "OUTSIDE", newText: "pwned" }, ctx);
    expect(edited.isError).toBe(true);
    const grep = await tools.grep.run({ pattern: "SECRET" }, ctx);
    expect(grep.output).not.toContain("OUTSIDE-SECRET");
    expect(readFileSync(join(box.outside, "secret.txt"), "utf8")).toBe("OUTSIDE-SECRET\n");
  });

  test("a file the tools created in this turn may be hard-linked; in the next turn it may not", async () => {
    const { tools } = makeTools();
    const ctx = toolContext(box.root, { turnId: "turn-1" });
    expect((await tools.writeFile.run({ path: "mine.txt", content: "mine\n" }, ctx)).isError).toBeUndefined();
    linkSync(join(box.root, "mine.txt"), join(box.root, "alias.txt"));
    expect((await tools.readFile.run({ path: "alias.txt" }, ctx)).output).toBe("mine");
    expect(
      (await tools.writeFile.run({ path: "mine.txt", content: "again\n" }, ctx)).isError,
    ).toBeUndefined();
    const later = toolContext(box.root, { turnId: "turn-2" });
    expect((await tools.readFile.run({ path: "alias.txt" }, later)).isError).toBe(true);
  });
});

describe("the workspace root swapped for a symlink", () => {
  test("is refused by every tool with a clear error, and nothing outside is read or written", async () => {
    const { tools } = makeTools();
    writeFileSync(join(box.root, "a.txt"), "inside\n");
    writeFileSync(join(box.outside, "a.txt"), "OUTSIDE-SECRET a\n");
    const ctx = toolContext(box.root);
    expect((await tools.readFile.run({ path: "a.txt" }, ctx)).output).toBe("inside");

    renameSync(box.root, `${box.root}.real`);
    symlinkSync(box.outside, box.root);
    const calls = [
      () => tools.readFile.run({ path: "a.txt" }, ctx),
      () => tools.writeFile.run({ path: "new.txt", content: "pwned\n" }, ctx),
      () => tools.editFile.run({ path: "a.txt", oldText: "OUTSIDE", newText: "pwned" }, ctx),
      () => tools.listDir.run({}, ctx),
      () => tools.grep.run({ pattern: "SECRET" }, ctx),
      () => tools.bash.run({ command: "cat a.txt; echo pwned > bash.txt" }, ctx),
    ];
    for (const call of calls) {
      const result = await call();
      expect(result.isError).toBe(true);
      expect(result.output).toContain("is not the directory it was when the workspace was loaded");
      expect(result.output).not.toContain("OUTSIDE-SECRET");
    }
    expect(readdirSync(box.outside).sort()).toEqual(["a.txt", "secret.txt"]);
    expect(readFileSync(join(box.outside, "a.txt"), "utf8")).toBe("OUTSIDE-SECRET a\n");
  });

  test("a root removed after it was pinned is refused, not silently re-created (its path may be a link next)", async () => {
    const { tools } = makeTools();
    const ctx = toolContext(box.root);
    expect((await tools.listDir.run({}, ctx)).isError).toBeUndefined();
    renameSync(box.root, `${box.root}.real`);
    const result = await tools.writeFile.run({ path: "x.txt", content: "x\n" }, ctx);
    expect(result.isError).toBe(true);
    expect(result.output).toContain("missing now");
    expect(readdirSync(box.dir).sort()).toEqual(["outside", "root.real"]);
  });
});

describe("a name stored decomposed (NFD) on disk", () => {
  const nfd = "cafe\u0301.txt";
  const nfc = "caf\u00e9.txt";

  test("is read and edited under either form, and write_file replaces it instead of adding an NFC twin", async () => {
    const { tools } = makeTools();
    Bun.spawnSync(["bash", "-c", `printf 'from bash\\n' > "$1"`, "bash", join(box.root, nfd)]);
    const ctx = toolContext(box.root);
    expect((await tools.readFile.run({ path: nfc }, ctx)).output).toBe("from bash");
    expect((await tools.readFile.run({ path: nfd }, ctx)).output).toBe("from bash");
    const written = await tools.writeFile.run({ path: nfc, content: "from the tools\n" }, ctx);
    expect(written.output).toStartWith("overwrote");
    expect(readdirSync(box.root)).toEqual([nfd]);
    expect(readFileSync(join(box.root, nfd), "utf8")).toBe("from the tools\n");
    expect(
      (await tools.editFile.run({ path: nfc, oldText: "tools", newText: "edit" }, ctx)).isError,
    ).toBeUndefined();
    expect(readFileSync(join(box.root, nfd), "utf8")).toBe("from the edit\n");
  });

  test("both forms share one lock", async () => {
    const { tools } = makeTools();
    mkdirSync(box.root, { recursive: true });
    writeFileSync(join(box.root, nfd), "x\n");
    const a = toolContext(box.root, { conversationId: "conv-a", turnId: "turn-a" });
    const b = toolContext(box.root, { conversationId: "conv-b", turnId: "turn-b" });
    expect((await tools.writeFile.run({ path: nfd, content: "a\n" }, a)).isError).toBeUndefined();
    const refused = await tools.writeFile.run({ path: nfc, content: "b\n" }, b);
    expect(refused.isError).toBe(true);
    expect(refused.output).toContain("is locked by conversation conv-a");
  });
});

describe("bash's environment", () => {
  test("has no variable config names as a secret, whatever it is called, nor the pattern-matched ones", async () => {
    const { tools } = makeTools({ secretEnvNames: ["LLM_GATEWAY_AUTH"] });
    process.env.LLM_GATEWAY_AUTH = "gateway-secret-value";
    process.env.SOME_API_KEY = "pattern-secret-value";
    try {
      const result = await tools.bash.run({ command: "env" }, toolContext(box.root));
      expect(result.output).toContain("PATH=");
      expect(result.output).not.toContain("gateway-secret-value");
      expect(result.output).not.toContain("pattern-secret-value");
    } finally {
      delete process.env.LLM_GATEWAY_AUTH;
      delete process.env.SOME_API_KEY;
    }
  });
});
