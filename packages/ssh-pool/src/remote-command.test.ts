import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { buildRemoteCommand, killGroupCommand, shellQuote } from "./remote-command.ts";

function sh(script: string): { stdout: string; stderr: string; status: number | null } {
  const result = spawnSync("sh", ["-c", script], { encoding: "utf8" });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

describe("shellQuote", () => {
  test("any string without NUL survives a trip through a real shell", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }).filter((s) => !s.includes("\0")),
        (value) => {
          expect(sh(`printf %s ${shellQuote(value)}`).stdout).toBe(value);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("buildRemoteCommand", () => {
  test("runs the command in cwd with env, after printing the group id marker on stderr", () => {
    const script = buildRemoteCommand(`echo "$GREETING from $(pwd)"; echo oops >&2; exit 7`, "/tmp", {
      GREETING: "it's 'quoted' $HOME",
    });
    const result = sh(script);
    expect(result.stdout).toBe("it's 'quoted' $HOME from /tmp\n");
    expect(result.stderr.replace(/\d+/, "N")).toBe("\x1eN\x1eoops\n");
    expect(result.status).toBe(7);
  });

  test("a missing cwd stops before the marker and the command", () => {
    const result = sh(buildRemoteCommand("echo ran", "/definitely/not/here"));
    expect(result.stdout).toBe("");
    expect(result.stderr).not.toContain("\x1e");
    expect(result.status).not.toBe(0);
  });

  test("refuses bad environment names and NUL bytes", () => {
    expect(() => buildRemoteCommand("true", "/", { "A-B": "x" })).toThrow(
      "invalid environment variable name",
    );
    expect(() => buildRemoteCommand("true", "/", { A: "x\0" })).toThrow("NUL");
    expect(() => buildRemoteCommand("tr\0ue", "/")).toThrow("NUL");
  });

  test("killGroupCommand refuses pids that would hit every process", () => {
    expect(() => killGroupCommand(1)).toThrow();
    expect(() => killGroupCommand(-5)).toThrow();
    expect(killGroupCommand(1234)).toContain("-1234");
  });
});
