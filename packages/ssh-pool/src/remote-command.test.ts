import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { buildRemoteCommand, killGroupCommand, shellQuote, terminateGroupCommand } from "./remote-command.ts";

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

  test("stdin is /dev/null for a command, and the caller's input for a session", () => {
    const run = (stdin: boolean) =>
      spawnSync("sh", ["-c", buildRemoteCommand("cat", "/tmp", {}, { stdin })], {
        input: "typed",
        encoding: "utf8",
      }).stdout;
    expect(run(false)).toBe("");
    expect(run(true)).toBe("typed");
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
    expect(killGroupCommand(1234)).toContain("p=1234");
  });
});

describe("terminateGroupCommand", () => {
  test("ends a group with the given signal, and SIGKILLs what ignores it", () => {
    for (const [script, members, survives] of [
      ["sleep 100 & sleep 100 & wait", 3, false],
      ["trap '' TERM; sleep 100 & wait; wait", 2, true],
    ] as const) {
      const group = spawnSync("sh", ["-c", `setsid sh -c "${script}" >/dev/null 2>&1 & echo $!`], {
        encoding: "utf8",
      });
      const pgid = Number(group.stdout.trim());
      const alive = () => sh(`ps -e -o pgid= -o stat= | awk '$1 == ${pgid} && $2 !~ /^Z/'`).stdout.trim();
      // The shell returns before the group's members have all started: wait (bounded) until they run.
      for (let i = 0; i < 250 && alive().split("\n").length < members; i++) Bun.sleepSync(20);
      expect(alive().split("\n")).toHaveLength(members);
      const result = sh(terminateGroupCommand(pgid, "SIGTERM", survives ? 200 : 5000));
      expect(result.status).toBe(0);
      expect(alive()).toBe("");
    }
  });

  test("refuses bad groups and signal names", () => {
    expect(() => terminateGroupCommand(1, "SIGTERM", 100)).toThrow();
    expect(() => terminateGroupCommand(1234, "TERM; rm -rf /", 100)).toThrow("signal name");
    expect(terminateGroupCommand(1234, "SIGHUP", 100)).toContain("kill -HUP -$p");
  });
});
