import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createLocalBackend } from "@dispatch/workspace-tools";
import { GitRunner } from "../src/git-command.ts";
import { makeRepo, removeTempDirs } from "./repo-fixture.ts";

afterEach(removeTempDirs);
const local = createLocalBackend();

describe("GitRunner", () => {
  test("a failing command is git_failed carrying git's own message and exit code", async () => {
    const repo = makeRepo();
    const git = new GitRunner(local, 10_000);
    const error = await git.run(["rev-parse", "--verify", "no-such-ref"], { cwd: repo }).catch((e) => e);
    expect(error).toMatchObject({ code: "git_failed", details: { exitCode: 128 } });
    expect(error.message).toContain("fatal: Needed a single revision");
    expect(error.message).toContain(repo);
  });

  test("allowed exit codes are answers, not failures", async () => {
    const repo = makeRepo();
    const git = new GitRunner(local, 10_000);
    const out = await git.run(["diff", "--quiet", "HEAD"], { cwd: repo, allowExit: [1] });
    expect(out.exitCode).toBe(0);
  });

  test("git is killed at its timeout and the error says so", async () => {
    const repo = makeRepo();
    const git = new GitRunner(local, 300);
    const error = await git.run(["-c", "alias.slow=!sleep 30", "slow"], { cwd: repo }).catch((e) => e);
    expect(error).toMatchObject({ code: "git_failed", details: { timedOut: true } });
    expect(error.message).toContain("timed out after 300 ms (git.timeoutMs)");
  });

  test("git never prompts: GIT_TERMINAL_PROMPT=0 is in its environment, and arguments arrive intact", async () => {
    const repo = makeRepo();
    const git = new GitRunner(local, 10_000);
    const env = await git.run(["-c", "alias.showenv=!env", "showenv"], { cwd: repo });
    expect(env.stdout.split("\n")).toContain("GIT_TERMINAL_PROMPT=0");
    const words = ["it's", "a b", "$HOME", "`x`", "--", "ünï"];
    const echoed = await git.run(["-c", `alias.args=!f() { printf '%s\\n' "$@"; }; f`, "args", ...words], {
      cwd: repo,
    });
    expect(echoed.stdout.trimEnd().split("\n")).toEqual(words);
  });

  test("a directory that does not exist is a clear error, not a crash", async () => {
    const git = new GitRunner(local, 10_000);
    const missing = join(makeRepo(), "nope");
    const error = await git.run(["status"], { cwd: missing }).catch((e) => e);
    expect(error).toMatchObject({ code: "git_failed" });
    expect(error.message).toContain(missing);
  });
});
