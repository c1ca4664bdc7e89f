import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";

// each test starts real processes; on a busy machine that takes more than the default 5 s
setDefaultTimeout(60_000);

const repoRoot = resolve(import.meta.dir, "../../..");
const readme = readFileSync(join(repoRoot, "README.md"), "utf8");

/** The commands the README shows: each line of a `sh` block, and inline code that starts like a command. */
function readmeCommands(): string[] {
  const commands: string[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? "").split("\n")) {
      const command = line.replace(/\s+#.*$/, "").trim();
      // a comment showing an answer, or a shell variable the next lines use, is not a program to run
      if (command === "" || command.startsWith("#") || /^(export\s+)?[A-Za-z_]\w*=/.test(command)) continue;
      commands.push(command);
    }
  }
  const outsideBlocks = readme.replace(/```[\s\S]*?```/g, "");
  for (const span of outsideBlocks.matchAll(/`([^`\n]+)`/g)) {
    const code = span[1] ?? "";
    if (/^(\.\/|bun |bunx |npm |npx |node |curl )/.test(code)) commands.push(code);
  }
  return commands;
}

/** The caller's PATH without any directory holding a `bun`: a fresh machine has Node.js and npm only. */
function pathWithoutBun(): string {
  return (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => dir !== "" && !existsSync(join(dir, "bun")))
    .join(delimiter);
}

/** Runs a command from the repository root the way a reader would, with a PATH that has no Bun. */
async function runAsReader(command: string[]): Promise<{ code: number; out: string; err: string }> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("DISPATCH_")) env[key] = value;
  }
  const child = Bun.spawn(command, {
    cwd: repoRoot,
    env: { ...env, PATH: pathWithoutBun() },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, out, err };
}

/** Programs a reader has after the two Quick start commands, Bun or not (`bash` runs bin/lib's scripts). */
const runnable = new Set(["./bin/dispatch", "./bin/test", "./bin/bench", "./bin/bun", "curl", "npm", "bash"]);

describe("every command the README shows runs as written after the Quick start", () => {
  const commands = readmeCommands();

  test("each one starts with bin/ (which brings its own Bun) or curl; none needs Bun on PATH", () => {
    expect(commands.length).toBeGreaterThan(8);
    expect(commands.filter((command) => !runnable.has(command.split(/\s+/)[0] ?? ""))).toEqual([]);
    for (const program of runnable) {
      if (program.startsWith("./")) accessSync(join(repoRoot, program), constants.X_OK);
    }
    expect(Bun.which("curl")).not.toBeNull();
    for (const command of commands.filter((c) => c.startsWith("bash "))) {
      const script = command.split(/\s+/)[1] ?? "";
      expect({
        command,
        script: script.startsWith("bin/lib/") && existsSync(join(repoRoot, script)),
      }).toEqual({
        command,
        script: true,
      });
    }
  });

  test("the dispatch subcommands it names exist, and those that exit by themselves succeed without Bun on PATH", async () => {
    const help = await runAsReader(["./bin/dispatch", "--help"]);
    expect(help.code).toBe(0);
    for (const command of commands.filter((c) => c.startsWith("./bin/dispatch "))) {
      const sub = command.split(/\s+/)[1] ?? "";
      if (!sub.startsWith("-")) expect(help.out).toContain(`  ${sub} `);
    }
    for (const command of ["./bin/dispatch extensions", "./bin/dispatch check-config"]) {
      expect(commands).toContain(command);
      const run = await runAsReader(command.split(" "));
      expect({ command, code: run.code }).toEqual({ command, code: 0 });
    }
  });

  test("./bin/test ARGS hands ARGS to `bun test`, and the example's tests pass that way", async () => {
    const binTest = readFileSync(join(repoRoot, "bin/test"), "utf8");
    const testLine = binTest.split("\n").find((line) => /^bun test /.test(line));
    expect(testLine).toBe('bun test --timeout 30000 "$@"');
    const withArgs = commands.filter((c) => c.startsWith("./bin/test "));
    expect(withArgs.length).toBeGreaterThan(0);
    for (const command of withArgs) {
      const args = command.split(/\s+/).slice(1);
      const run = await runAsReader([process.execPath, "test", "--timeout", "30000", ...args]);
      expect({ command, code: run.code, err: run.code === 0 ? "" : run.err.slice(-2000) }).toEqual({
        command,
        code: 0,
        err: "",
      });
      expect(run.err).toMatch(/\n\s*[1-9]\d* pass\n/);
    }
  });

  test("./bin/bench brings its own Bun too (asked for a benchmark that does not exist, it lists them)", async () => {
    const run = await runAsReader(["./bin/bench", "no-such-benchmark"]);
    expect(run.code).toBe(2);
    expect(run.err).toContain("packages/host-bin/bench/startup.ts");
  });
});

test("`bun run check` runs bin/test, the whole check, and `bun run test` uses bin/test's flags", () => {
  const scripts = (
    JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    }
  ).scripts;
  expect(scripts.check).toBe("./bin/test");
  expect(scripts.test).toBe("bun test --timeout 30000");
});
