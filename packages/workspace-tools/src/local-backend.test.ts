import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeSandbox, type Sandbox } from "../test/fixtures.ts";
import type { ConfinedPath } from "./backend.ts";
import { createLocalBackend, resolveRealPath } from "./local-backend.ts";

const backend = createLocalBackend();
let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.cleanup());

describe("resolveRealPath (realpath -m)", () => {
  test("resolves existing paths and appends missing components", async () => {
    expect(await resolveRealPath(join(box.root, "a/b/../c"))).toBe(join(box.root, "a/c"));
    symlinkSync(box.outside, join(box.root, "out"));
    expect(await resolveRealPath(join(box.root, "out/new/x"))).toBe(join(box.outside, "new/x"));
  });

  test("follows a dangling link to where it points", async () => {
    symlinkSync("../outside/ghost", join(box.root, "ghost"));
    expect(await resolveRealPath(join(box.root, "ghost"))).toBe(join(box.outside, "ghost"));
  });

  test("reports a symlink loop instead of spinning", async () => {
    symlinkSync(join(box.root, "b"), join(box.root, "a"));
    symlinkSync(join(box.root, "a"), join(box.root, "b"));
    await expect(resolveRealPath(join(box.root, "a/x"))).rejects.toThrow(/too many levels/);
  });
});

/** `rel` under the sandbox root, as confinement would hand it over (no pin). */
function at(rel: string): ConfinedPath {
  return { root: box.root, rootId: undefined, absolute: join(box.root, rel), relative: rel, display: rel };
}

describe("files", () => {
  test("readFile reads at most maxBytes and says when it stopped short", async () => {
    writeFileSync(join(box.root, "f"), "0123456789");
    const whole = await backend.readFile(at("f"), 100);
    expect(new TextDecoder().decode(whole.data)).toBe("0123456789");
    expect(whole.truncated).toBe(false);
    const part = await backend.readFile(at("f"), 4);
    expect(new TextDecoder().decode(part.data)).toBe("0123");
    expect(part.truncated).toBe(true);
  });

  test("missing files are not_found, naming the path", async () => {
    await expect(backend.readFile(at("nope"), 10)).rejects.toMatchObject({ code: "not_found" });
    await expect(backend.readdir(at("nope"))).rejects.toThrow(/nope/);
    expect(await backend.stat(at("nope"))).toBeUndefined();
  });

  test("stat, readdir, mkdirp and writeFile", async () => {
    await backend.mkdirp(join(box.root, "a/b"));
    await backend.writeFile(at("a/f.txt"), new TextEncoder().encode("hi"));
    symlinkSync("f.txt", join(box.root, "a/l"));
    expect(await backend.stat(at("a/f.txt"))).toEqual({ kind: "file", size: 2 });
    expect((await backend.stat(at("a/b")))?.kind).toBe("directory");
    const entries = await backend.readdir(at("a"));
    expect(entries.sort((x, y) => x.name.localeCompare(y.name))).toEqual([
      { name: "b", kind: "directory" },
      { name: "f.txt", kind: "file" },
      { name: "l", kind: "symlink" },
    ]);
    mkdirSync(join(box.root, "a/b"), { recursive: true });
  });
});
