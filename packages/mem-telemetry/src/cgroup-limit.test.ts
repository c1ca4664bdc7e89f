import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DispatchError } from "@dispatch/kernel";
import {
  parseCgroupV1Limit,
  parseCgroupV2Max,
  parseProcSelfCgroup,
  readCgroupMemoryLimit,
} from "./cgroup-limit.ts";

const gib = 1024 ** 3;

describe("parseCgroupV2Max", () => {
  test("reads a byte count, with the kernel's trailing newline", () => {
    expect(parseCgroupV2Max(`${24 * gib}\n`)).toBe(24 * gib);
  });
  test('"max" means no limit', () => {
    expect(parseCgroupV2Max("max\n")).toBeNull();
  });
  test("anything else is an invalid_cgroup_value error", () => {
    for (const text of ["", "24G", "-1", "max max"]) {
      const error = (() => {
        try {
          parseCgroupV2Max(text);
        } catch (e) {
          return e;
        }
      })();
      expect(DispatchError.isInstance(error) && error.code).toBe("invalid_cgroup_value");
    }
  });
});

describe("parseCgroupV1Limit", () => {
  test("reads a byte count", () => {
    expect(parseCgroupV1Limit("536870912\n")).toBe(512 * 1024 ** 2);
  });
  test("the huge page-aligned value (4 KiB and 64 KiB pages) means no limit", () => {
    expect(parseCgroupV1Limit("9223372036854771712\n")).toBeNull();
    expect(parseCgroupV1Limit("9223372036854710272\n")).toBeNull();
  });
  test('"max" is not a v1 word', () => {
    expect(() => parseCgroupV1Limit("max")).toThrow(/byte count/);
  });
});

describe("parseProcSelfCgroup", () => {
  test("finds the unified path and the v1 memory hierarchy", () => {
    const text =
      "12:cpu,cpuacct:/a\n4:memory:/process_api/abc\n1:name=systemd:/\n0::/system.slice/dispatch.service\n";
    expect(parseProcSelfCgroup(text)).toEqual({
      v2: "/system.slice/dispatch.service",
      v1Memory: "/process_api/abc",
    });
  });
  test("a controller list containing memory counts; junk lines are ignored", () => {
    expect(parseProcSelfCgroup("garbage\n7:blkio,memory:/x\n")).toEqual({ v1Memory: "/x" });
  });
});

describe("readCgroupMemoryLimit", () => {
  let dir = "";
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = "";
  });

  /** Writes files under a fresh temp dir: keys are paths relative to it. */
  function layout(files: Record<string, string>): { root: string; procSelfCgroup: string } {
    dir = mkdtempSync(join(tmpdir(), "dispatch-cgroup-"));
    for (const [path, text] of Object.entries(files)) {
      const file = join(dir, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
    }
    return { root: join(dir, "cg"), procSelfCgroup: join(dir, "proc-self-cgroup") };
  }

  test("v2: the lowest limit on the process's own cgroup and its ancestors", () => {
    const where = layout({
      "proc-self-cgroup": "0::/system.slice/dispatch.service\n",
      "cg/system.slice/dispatch.service/memory.max": `${24 * gib}\n`,
      "cg/system.slice/memory.max": `${16 * gib}\n`,
    });
    expect(readCgroupMemoryLimit(where)).toEqual({
      limitBytes: 16 * gib,
      version: 2,
      file: join(where.root, "system.slice/memory.max"),
    });
  });

  test("v2: the mount root's memory.max (inside a container)", () => {
    const where = layout({
      "proc-self-cgroup": "0::/\n",
      "cg/memory.max": `${2 * gib}\n`,
    });
    expect(readCgroupMemoryLimit(where)?.limitBytes).toBe(2 * gib);
  });

  test('v2: "max" everywhere is no limit, and v1 is not consulted', () => {
    const where = layout({
      "proc-self-cgroup": "0::/svc\n4:memory:/svc\n",
      "cg/svc/memory.max": "max\n",
      "cg/memory/svc/memory.limit_in_bytes": `${gib}\n`,
    });
    expect(readCgroupMemoryLimit(where)).toEqual({
      limitBytes: null,
      version: 2,
      file: join(where.root, "svc/memory.max"),
    });
  });

  test("v1 fallback: own memory cgroup, with the huge value on the root meaning none", () => {
    const where = layout({
      "proc-self-cgroup": "4:memory:/process_api/abc\n0::/\n",
      "cg/memory/memory.limit_in_bytes": "9223372036854771712\n",
      "cg/memory/process_api/abc/memory.limit_in_bytes": `${3 * gib}\n`,
    });
    expect(readCgroupMemoryLimit(where)).toEqual({
      limitBytes: 3 * gib,
      version: 1,
      file: join(where.root, "memory/process_api/abc/memory.limit_in_bytes"),
    });
  });

  test("v1: only the huge value is no limit", () => {
    const where = layout({
      "proc-self-cgroup": "4:memory:/\n",
      "cg/memory/memory.limit_in_bytes": "9223372036854771712\n",
    });
    expect(readCgroupMemoryLimit(where)).toMatchObject({ limitBytes: null, version: 1 });
  });

  test("a path escaping the mount (cgroup namespace) only consults the root", () => {
    const where = layout({
      "proc-self-cgroup": "0::/../../outside\n",
      "cg/memory.max": `${gib}\n`,
      "outside/memory.max": "1\n",
    });
    expect(readCgroupMemoryLimit(where)?.limitBytes).toBe(gib);
  });

  test("no cgroup files at all (or no /proc) is undefined", () => {
    const where = layout({});
    expect(readCgroupMemoryLimit(where)).toBeUndefined();
  });

  test("an unreadable value names the file", () => {
    const where = layout({ "proc-self-cgroup": "0::/\n", "cg/memory.max": "lots\n" });
    expect(() => readCgroupMemoryLimit(where)).toThrow(
      `${join(where.root, "memory.max")}: expected a byte count`,
    );
  });
});
