import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DispatchError } from "@dispatch/kernel";
import fc from "fast-check";
import { makeSandbox, type Sandbox } from "../test/fixtures.ts";
import { confinePath } from "./confine-path.ts";
import { createLocalBackend } from "./local-backend.ts";

const backend = createLocalBackend();
let box: Sandbox;
beforeEach(() => {
  box = makeSandbox();
});
afterEach(() => box.cleanup());

async function refusal(root: string, input: string): Promise<DispatchError> {
  try {
    await confinePath(backend, root, input);
  } catch (error) {
    if (DispatchError.isInstance(error)) return error;
    throw error;
  }
  throw new Error(`expected "${input}" to be refused`);
}

describe("accepted paths", () => {
  test("a relative path inside the root, existing or not", async () => {
    writeFileSync(join(box.root, "a.txt"), "x");
    expect(await confinePath(backend, box.root, "a.txt")).toEqual({
      root: box.root,
      rootId: undefined,
      absolute: join(box.root, "a.txt"),
      relative: "a.txt",
      display: "a.txt",
    });
    const fresh = await confinePath(backend, box.root, "new/dir/b.txt");
    expect(fresh.absolute).toBe(join(box.root, "new/dir/b.txt"));
    expect(fresh.relative).toBe("new/dir/b.txt");
  });

  test('the root itself as ".", "" or its absolute path', async () => {
    for (const input of [".", "", box.root, `${box.root}/`, "./"]) {
      const path = await confinePath(backend, box.root, input);
      expect(path).toEqual({
        root: box.root,
        rootId: undefined,
        absolute: box.root,
        relative: "",
        display: ".",
      });
    }
  });

  test("`..` that stays inside, and an absolute path inside", async () => {
    expect((await confinePath(backend, box.root, "a/../b/./c")).relative).toBe("b/c");
    expect((await confinePath(backend, box.root, join(box.root, "x/y"))).relative).toBe("x/y");
  });

  test("a symlink that points inside the root resolves to its target (one lock key per file)", async () => {
    mkdirSync(join(box.root, "real"));
    symlinkSync(join(box.root, "real"), join(box.root, "alias"));
    const path = await confinePath(backend, box.root, "alias/f.txt");
    expect(path.relative).toBe("real/f.txt");
    expect(path.absolute).toBe(join(box.root, "real/f.txt"));
  });

  test("a root that is itself reached through a symlink", async () => {
    const linkRoot = join(box.dir, "link-root");
    symlinkSync(box.root, linkRoot);
    const path = await confinePath(backend, linkRoot, "a.txt");
    expect(path).toEqual({
      root: box.root,
      rootId: undefined,
      absolute: join(box.root, "a.txt"),
      relative: "a.txt",
      display: "a.txt",
    });
  });

  test("composed and decomposed é give the same NFC relative path", async () => {
    const composed = await confinePath(backend, box.root, "caf\u00e9.txt");
    const decomposed = await confinePath(backend, box.root, "cafe\u0301.txt");
    expect(decomposed.relative).toBe(composed.relative);
    expect(decomposed.absolute).toBe(composed.absolute);
    expect(composed.relative).toBe("caf\u00e9.txt");
  });
});

describe("refused paths", () => {
  test("`../` escape", async () => {
    const error = await refusal(box.root, "../outside/secret.txt");
    expect(error.code).toBe("path_outside_workspace");
    expect(error.message).toContain('"../outside/secret.txt"');
    expect(error.message).toContain("escapes the workspace root");
  });

  test("`..` hidden in the middle", async () => {
    expect((await refusal(box.root, "a/../../outside")).code).toBe("path_outside_workspace");
  });

  test("a sibling directory whose name starts with the root's name", async () => {
    mkdirSync(`${box.root}-evil`);
    expect((await refusal(box.root, `${box.root}-evil/x`)).code).toBe("path_outside_workspace");
    expect((await refusal(box.root, "../root-evil/x")).code).toBe("path_outside_workspace");
  });

  test("an absolute path outside", async () => {
    const error = await refusal(box.root, "/etc/passwd");
    expect(error.code).toBe("path_outside_workspace");
    expect(error.message).toContain("outside the workspace root");
  });

  test("a symlinked directory pointing outside", async () => {
    writeFileSync(join(box.outside, "secret.txt"), "s");
    symlinkSync(box.outside, join(box.root, "escape"));
    const error = await refusal(box.root, "escape/secret.txt");
    expect(error.code).toBe("path_outside_workspace");
    expect(error.message).toContain("symbolic link");
  });

  test("a symlinked file pointing outside", async () => {
    writeFileSync(join(box.outside, "secret.txt"), "s");
    symlinkSync(join(box.outside, "secret.txt"), join(box.root, "innocent.txt"));
    expect((await refusal(box.root, "innocent.txt")).code).toBe("path_outside_workspace");
  });

  test("a dangling symlink pointing outside (a write through it would land outside)", async () => {
    symlinkSync(join(box.outside, "not-yet.txt"), join(box.root, "dangling.txt"));
    expect((await refusal(box.root, "dangling.txt")).code).toBe("path_outside_workspace");
    symlinkSync(join(box.outside, "no-dir"), join(box.root, "dangling-dir"));
    expect((await refusal(box.root, "dangling-dir/new/file.txt")).code).toBe("path_outside_workspace");
  });

  test("a relative symlink climbing out", async () => {
    mkdirSync(join(box.root, "sub"));
    symlinkSync("../../outside", join(box.root, "sub", "up"));
    expect((await refusal(box.root, "sub/up/x")).code).toBe("path_outside_workspace");
  });

  test("a NUL byte", async () => {
    expect((await refusal(box.root, "a\0b")).code).toBe("invalid_request");
  });

  test("a relative workspace root", async () => {
    expect((await refusal("relative/root", "a")).code).toBe("invalid_request");
  });
});

test("whatever the path, an accepted one is inside the root (property)", async () => {
  mkdirSync(join(box.root, "d"));
  symlinkSync(box.outside, join(box.root, "d", "out"));
  symlinkSync(join(box.root, "d"), join(box.root, "in"));
  let accepted = 0;
  let refused = 0;
  const segment = fc.constantFrom("..", ".", "d", "out", "in", "x", "caf\u00e9", "cafe\u0301", "");
  await fc.assert(
    fc.asyncProperty(fc.boolean(), fc.array(segment, { maxLength: 6 }), async (absolute, parts) => {
      const input = (absolute ? `${box.root}/` : "") + parts.join("/");
      try {
        const path = await confinePath(backend, box.root, input);
        expect(path.absolute === box.root || path.absolute.startsWith(`${box.root}/`)).toBe(true);
        expect(path.relative.split("/")).not.toContain("..");
        expect(path.relative).toBe(path.relative.normalize("NFC"));
        accepted++;
      } catch (error) {
        expect(DispatchError.isInstance(error) && error.code).toBe("path_outside_workspace");
        refused++;
      }
    }),
    { numRuns: 300 },
  );
  // Both outcomes were exercised, so the property did not hold vacuously.
  expect(accepted).toBeGreaterThan(0);
  expect(refused).toBeGreaterThan(0);
});
