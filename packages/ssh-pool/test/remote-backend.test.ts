import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConfinedPath, confinePath, type ExecutionBackend } from "@dispatch/workspace-tools";
import { createRemoteBackend } from "../src/remote-backend.ts";
import { type SshdFixture, startSshd } from "../src/testing/index.ts";
import { hostFor, Pools, rejectionOf } from "./helpers.ts";

let sshd: SshdFixture;
let dir: string;
const pools = new Pools();

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(() => sshd?.dispose());
afterEach(async () => {
  await pools.disposeAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A confined path at `absolute` (the remote backend acts by path). */
function at(absolute: string): ConfinedPath {
  return {
    root: dir,
    rootId: undefined,
    absolute,
    relative: absolute.slice(dir.length + 1),
    display: absolute,
  };
}

function backend(): ExecutionBackend {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "ssh-backend-")));
  return createRemoteBackend(pools.make(hostFor(sshd)));
}

describe("remote execution backend", () => {
  test("its id is the host id", () => {
    expect(backend().id).toBe("test-box");
  });

  test("writeFile then readFile round-trips bytes over sftp", async () => {
    const remote = backend();
    const bytes = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
    await remote.writeFile(at(join(dir, "blob.bin")), bytes);
    expect(new Uint8Array(readFileSync(join(dir, "blob.bin")))).toEqual(bytes);
    const read = await remote.readFile(at(join(dir, "blob.bin")), 1_000_000);
    expect(read.truncated).toBe(false);
    expect(read.data).toEqual(bytes);
  });

  test("writeFile makes missing parent directories", async () => {
    const remote = backend();
    expect(await remote.writeFile(at(join(dir, "new/sub/f.txt")), new TextEncoder().encode("hi"))).toEqual({
      created: undefined,
    });
    expect(readFileSync(join(dir, "new/sub/f.txt"), "utf8")).toBe("hi");
  });

  test("writeFile replaces a longer file completely", async () => {
    const remote = backend();
    writeFileSync(join(dir, "a.txt"), "a much longer original content");
    await remote.writeFile(at(join(dir, "a.txt")), new TextEncoder().encode("short"));
    expect(readFileSync(join(dir, "a.txt"), "utf8")).toBe("short");
  });

  test("readFile stops at maxBytes and says so; an empty file is empty", async () => {
    const remote = backend();
    writeFileSync(join(dir, "big.txt"), "x".repeat(5000));
    writeFileSync(join(dir, "empty.txt"), "");
    const read = await remote.readFile(at(join(dir, "big.txt")), 100);
    expect(read.truncated).toBe(true);
    expect(new TextDecoder().decode(read.data)).toBe("x".repeat(100));
    expect(await remote.readFile(at(join(dir, "empty.txt")), 100)).toEqual({
      data: new Uint8Array(0),
      truncated: false,
    });
  });

  test("missing paths are not_found; a directory is not a file", async () => {
    const remote = backend();
    expect((await rejectionOf(remote.readFile(at(join(dir, "nope")), 10))).code).toBe("not_found");
    expect((await rejectionOf(remote.readdir(at(join(dir, "nope"))))).code).toBe("not_found");
    const error = await rejectionOf(remote.readFile(at(dir), 10));
    expect(error.code).toBe("io_error");
    expect(error.message).toContain("is a directory");
  });

  test("stat and readdir report kinds without following symlinks", async () => {
    const remote = backend();
    writeFileSync(join(dir, "file.txt"), "12345");
    mkdirSync(join(dir, "sub"));
    symlinkSync(join(dir, "file.txt"), join(dir, "link"));
    expect(await remote.stat(at(join(dir, "file.txt")))).toEqual({ kind: "file", size: 5 });
    expect((await remote.stat(at(join(dir, "sub"))))?.kind).toBe("directory");
    expect((await remote.stat(at(join(dir, "link"))))?.kind).toBe("symlink");
    expect(await remote.stat(at(join(dir, "absent")))).toBeUndefined();
    const entries = await remote.readdir(at(dir));
    expect(entries.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: "file.txt", kind: "file" },
      { name: "link", kind: "symlink" },
      { name: "sub", kind: "directory" },
    ]);
  });

  test("mkdirp creates every missing level, accepts an existing directory, refuses a file in the way", async () => {
    const remote = backend();
    await remote.mkdirp(join(dir, "a/b/c"));
    await remote.mkdirp(join(dir, "a/b/c"));
    expect(existsSync(join(dir, "a/b/c"))).toBe(true);
    writeFileSync(join(dir, "plain"), "");
    // ENOTDIR, which the local backend also reports as not_found.
    expect((await rejectionOf(remote.mkdirp(join(dir, "plain/below")))).code).toBe("not_found");
  });

  test("realpath resolves symlinks of the longest existing prefix on the remote side", async () => {
    const remote = backend();
    mkdirSync(join(dir, "real"));
    symlinkSync(join(dir, "real"), join(dir, "alias"));
    symlinkSync(join(dir, "real", "target-not-yet"), join(dir, "dangling"));
    expect(await remote.realpath(join(dir, "alias", "new", "file.txt"))).toBe(
      join(dir, "real", "new", "file.txt"),
    );
    expect(await remote.realpath(join(dir, "dangling"))).toBe(join(dir, "real", "target-not-yet"));
    const odd = join(dir, "name with\nnewline and 'quote'");
    expect(await remote.realpath(odd)).toBe(odd);
  });

  test("the tools' confinement, run against the remote backend, refuses a symlink that leaves the root", async () => {
    const remote = backend();
    const root = join(dir, "root");
    mkdirSync(root);
    mkdirSync(join(dir, "secret"));
    symlinkSync(join(dir, "secret"), join(root, "escape"));
    const inside = await confinePath(remote, root, "src/main.ts");
    expect(inside.absolute).toBe(join(root, "src/main.ts"));
    const error = await rejectionOf(confinePath(remote, root, "escape/passwd"));
    expect(error.code).toBe("path_outside_workspace");
  });

  test("exec goes through the pool with the tools' options", async () => {
    const remote = backend();
    const result = await remote.exec("echo $X; pwd", {
      cwd: dir,
      env: { X: "remote" },
      timeoutMs: 10_000,
      maxOutputBytes: 1000,
    });
    expect(result).toEqual({
      exitCode: 0,
      signal: null,
      stdout: `remote\n${dir}\n`,
      stderr: "",
      truncated: false,
      timedOut: false,
    });
  });

  test("many sftp operations at once share one session", async () => {
    const remote = backend();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        remote.writeFile(at(join(dir, `f${i}`)), new TextEncoder().encode(`${i}`)),
      ),
    );
    const reads = await Promise.all(
      Array.from({ length: 30 }, (_, i) => remote.readFile(at(join(dir, `f${i}`)), 10)),
    );
    expect(reads.map((r) => new TextDecoder().decode(r.data))).toEqual(
      Array.from({ length: 30 }, (_, i) => `${i}`),
    );
  });
});
