import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const script = resolve(import.meta.dir, "../../../bin/apply-memory-limits.sh");

let dir = "";
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = "";
});

/** A temp systemd dir and a stub systemctl that records its arguments. */
function sandbox() {
  dir = mkdtempSync(join(tmpdir(), "dispatch-systemd-"));
  const calls = join(dir, "systemctl-calls");
  const stub = join(dir, "systemctl");
  writeFileSync(stub, `#!/bin/sh\necho "$@" >> '${calls}'\n`);
  chmodSync(stub, 0o755);
  return {
    env: { DISPATCH_SYSTEMD_DIR: join(dir, "systemd"), DISPATCH_SYSTEMCTL: stub },
    file: join(dir, "systemd", "dispatch.service.d", "memory.conf"),
    reloads: () => (existsSync(calls) ? readFileSync(calls, "utf8").trim().split("\n") : []),
  };
}

function run(args: string[], env: Record<string, string> = {}) {
  const result = Bun.spawnSync(["bash", script, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 10_000,
  });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

const drop = (max: string, high: string) =>
  `# Written by bin/apply-memory-limits.sh; rerun it to change these values.\n[Service]\nMemoryMax=${max}\nMemoryHigh=${high}\n`;

describe("bin/apply-memory-limits.sh", () => {
  test("--dry-run prints the default path and drop-in (24G, MemoryHigh 90% of it) and writes nothing", () => {
    const box = sandbox();
    const defaults = run(["--dry-run"]);
    expect(defaults.code).toBe(0);
    // The real /etc may or may not hold a drop-in already, so only the state word is left open here.
    expect(defaults.stdout).toMatch(
      /^dry run: would write \/etc\/systemd\/system\/dispatch\.service\.d\/memory\.conf \((new|changed|unchanged)\)\n/,
    );
    expect(defaults.stdout).toContain(drop("24G", "22118M"));
    const sandboxed = run(["--dry-run"], box.env);
    expect(sandboxed.stdout).toBe(
      `dry run: would write ${box.file} (new)\n${drop("24G", "22118M")}then: systemctl daemon-reload\n`,
    );
    expect(existsSync(join(dir, "systemd"))).toBe(false);
    expect(box.reloads()).toEqual([]);
  });

  test("--unit, --max and --high (both spellings); a bare unit name gets .service", () => {
    const out = run(["--dry-run", "--unit", "dispatch-staging", "--max=8G", "--high", "6G"]);
    expect(out.code).toBe(0);
    expect(out.stdout).toStartWith(
      "dry run: would write /etc/systemd/system/dispatch-staging.service.d/memory.conf",
    );
    expect(out.stdout).toContain(drop("8G", "6G"));
  });

  test("writes once, then is a no-op (no rewrite, no reload) until the values change", () => {
    const box = sandbox();
    const first = run([], box.env);
    expect(first.code).toBe(0);
    expect(first.stdout).toStartWith(`wrote ${box.file}`);
    expect(readFileSync(box.file, "utf8")).toBe(drop("24G", "22118M"));
    expect(statSync(box.file).mode & 0o777).toBe(0o644);
    expect(box.reloads()).toEqual(["daemon-reload"]);
    const mtime = statSync(box.file).mtimeMs;

    const second = run([], box.env);
    expect(second).toMatchObject({ code: 0, stdout: `unchanged: ${box.file}\n` });
    expect(statSync(box.file).mtimeMs).toBe(mtime);
    expect(box.reloads()).toEqual(["daemon-reload"]);
    expect(run(["--dry-run"], box.env).stdout).toStartWith(`dry run: would write ${box.file} (unchanged)`);

    const third = run(["--max", "4G"], box.env);
    expect(third.code).toBe(0);
    expect(readFileSync(box.file, "utf8")).toBe(drop("4G", "3686M"));
    expect(box.reloads()).toEqual(["daemon-reload", "daemon-reload"]);
  });

  test("a failing daemon-reload is an error that says what to do", () => {
    const box = sandbox();
    const out = run([], { ...box.env, DISPATCH_SYSTEMCTL: "false" });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("daemon-reload' failed; run it by hand");
    expect(existsSync(box.file)).toBe(true);
  });

  test("bad arguments exit 2 with a message naming the problem, and write nothing", () => {
    const box = sandbox();
    const cases: Array<[string[], string]> = [
      [["--max", "12X"], "--max: expected a size such as 24G or 512M"],
      [["--max", "0"], "--max: must be above 0"],
      [["--max", "999999999999999T"], "--max: too large"],
      [["--high", "30G"], "--high (30G) must not be above --max (24G)"],
      [["--max"], "--max needs a value"],
      [["--unit", "--dry-run"], "--unit needs a value"],
      [["--unit", "../etc"], "--unit: expected a unit name"],
      [["--frobnicate"], "unknown argument '--frobnicate'"],
    ];
    for (const [args, message] of cases) {
      const out = run(args, box.env);
      expect({ args, code: out.code }).toEqual({ args, code: 2 });
      expect(out.stderr).toContain(message);
    }
    expect(existsSync(join(dir, "systemd"))).toBe(false);
  });

  test("--help prints usage", () => {
    const out = run(["--help"]);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain("Usage: bin/apply-memory-limits.sh");
  });
});
