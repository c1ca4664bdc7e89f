import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeSandbox, type Sandbox } from "../test/fixtures.ts";
import { readBeneath, readdirBeneath, statBeneath, writeBeneath } from "./beneath-root.ts";
import { confinePath } from "./confine-path.ts";
import { createLocalBackend } from "./local-backend.ts";

const backend = createLocalBackend();
let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
  mkdirSync(join(box.root, "d"));
  writeFileSync(join(box.root, "d", "f.txt"), "inside\n");
  mkdirSync(join(box.outside, "d"));
  writeFileSync(join(box.outside, "d", "f.txt"), "OUTSIDE\n");
});
afterEach(() => box.cleanup());

/** Swaps `d` for a symlink to the outside twin, as a racing process would after the check. */
function swapDirectory() {
  renameSync(join(box.root, "d"), join(box.root, "d.real"));
  symlinkSync(join(box.outside, "d"), join(box.root, "d"));
}

test("a directory swapped for a symlink after the check: every operation stops instead of following it", async () => {
  const file = await confinePath(backend, box.root, "d/f.txt");
  const dir = await confinePath(backend, box.root, "d");
  const fresh = await confinePath(backend, box.root, "d/new.txt");
  swapDirectory();
  await expect(readBeneath(file, 100)).rejects.toMatchObject({ code: "path_changed" });
  await expect(writeBeneath(file, new TextEncoder().encode("pwned"))).rejects.toMatchObject({
    code: "path_changed",
  });
  await expect(writeBeneath(fresh, new TextEncoder().encode("pwned"))).rejects.toMatchObject({
    code: "path_changed",
  });
  await expect(readdirBeneath(dir)).rejects.toMatchObject({ code: "path_changed" });
  expect((await statBeneath(dir))?.kind).toBe("symlink");
  expect(readFileSync(join(box.outside, "d", "f.txt"), "utf8")).toBe("OUTSIDE\n");
  expect(readdirSync(join(box.outside, "d"))).toEqual(["f.txt"]);
});

test("a file swapped for a symlink after the check is refused", async () => {
  const file = await confinePath(backend, box.root, "d/f.txt");
  renameSync(join(box.root, "d", "f.txt"), join(box.root, "d", "was.txt"));
  symlinkSync(join(box.outside, "d", "f.txt"), join(box.root, "d", "f.txt"));
  await expect(readBeneath(file, 100)).rejects.toMatchObject({ code: "path_changed" });
  await expect(writeBeneath(file, new TextEncoder().encode("pwned"))).rejects.toMatchObject({
    code: "path_changed",
  });
  expect(readFileSync(join(box.outside, "d", "f.txt"), "utf8")).toBe("OUTSIDE\n");
});

test("a root that no longer has its pinned identity is refused", async () => {
  const pin = await backend.identify(box.root);
  const file = await confinePath(backend, box.root, "d/f.txt", pin);
  renameSync(box.root, `${box.root}.real`);
  mkdirSync(box.root);
  await expect(readBeneath(file, 100)).rejects.toMatchObject({ code: "workspace_root_changed" });
});

test("writes create missing parents below the root and report the file they created", async () => {
  const path = await confinePath(backend, box.root, "a/b/c.txt");
  const { created } = await writeBeneath(path, new TextEncoder().encode("hi"));
  expect(created).toBeDefined();
  expect(readFileSync(join(box.root, "a/b/c.txt"), "utf8")).toBe("hi");
  expect((await writeBeneath(path, new TextEncoder().encode("again"))).created).toBeUndefined();
  expect(readFileSync(join(box.root, "a/b/c.txt"), "utf8")).toBe("again");
});
