import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { cleanup, DispatchProcess, fixturesDir, tempDir, writeConfig } from "./dispatch-process.ts";

// each test starts real processes; on a busy machine that takes more than the default 5 s
setDefaultTimeout(30_000);
afterEach(cleanup);

/** Runs `dispatch <command> --config <file>` and returns its exit code and stderr. */
async function runWith(config: unknown, command = "serve"): Promise<{ code: number; stderr: string }> {
  const dir = tempDir();
  const file = writeConfig(dir, config);
  const args =
    command === "serve"
      ? [command, "--config", file, "--data-dir", dir, "--port", "0"]
      : [command, "--config", file];
  const child = new DispatchProcess(args);
  const code = await child.exitWithin(10_000);
  return { code, stderr: child.stderr };
}

/** No stack trace: no "    at fn (file:line)" frames and no "Error:" dumps. */
function expectNoStack(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toContain('"stack"');
}

describe("config errors exit 2 with the JSON path and no stack", () => {
  test("an unknown top-level key", async () => {
    const { code, stderr } = await runWith({ servre: { port: 1 } });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe("config error: servre: unknown key");
  });

  test("an unknown nested key", async () => {
    const { code, stderr } = await runWith({ server: { prot: 80 } });
    expect(code).toBe(2);
    expect(stderr).toContain("config error: server.prot: unknown key");
    expectNoStack(stderr);
  });

  test("a wrong type, in an extension's slice or in a host key", async () => {
    const { code, stderr } = await runWith({
      server: { bodyLimitBytes: "1MiB" },
      guards: { faultBudget: 1 },
    });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      "config error: server.bodyLimitBytes: Invalid input: expected number, received string",
    );
    expectNoStack(stderr);

    const host = await runWith({ guards: { faultBudget: "many" }, extensions: { paths: "x.ts" } });
    expect(host.code).toBe(2);
    expect(host.stderr).toContain("config error: guards.faultBudget: ");
    expect(host.stderr).toContain("config error: extensions.paths: ");
  });

  test("a provider of an unknown kind, or with an option its kind does not have", async () => {
    const { code, stderr } = await runWith({
      providers: [
        { id: "s", kind: "scripted", temperature: 0.2 },
        { id: "x", kind: "x" },
      ],
    });
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toEqual([
      "config error: providers[0].temperature: unknown key",
      'config error: providers[1].kind: unknown provider kind "x" (known: anthropic, openai-compatible, scripted)',
    ]);
  });

  test("invalid JSON", async () => {
    const { code, stderr } = await runWith('{ "server": { "port": 80, } ');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^config error: \(file\): .*dispatch\.json is not valid JSON: /);
    expectNoStack(stderr);
  });

  test("a JSON value that is not an object", async () => {
    const { code, stderr } = await runWith("[1, 2]");
    expect(code).toBe(2);
    expect(stderr.trim()).toBe("config error: (root): expected a JSON object");
  });

  test("a config file that does not exist", async () => {
    const dir = tempDir();
    const child = new DispatchProcess(["check-config", "--config", join(dir, "missing.json")]);
    expect(await child.exitWithin(10_000)).toBe(2);
    expect(child.stderr).toContain("missing.json: file not found");
  });

  test("bad extension paths are each named", async () => {
    const { code, stderr } = await runWith({
      extensions: {
        paths: [
          "does-not-exist.ts",
          join(fixturesDir, "not-an-extension.ts"),
          join(fixturesDir, "throws-on-import.ts"),
        ],
      },
    });
    expect(code).toBe(2);
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^config error: extensions\.paths\[0\]: .*does-not-exist\.ts does not exist$/);
    expect(lines[1]).toMatch(
      /^config error: extensions\.paths\[1\]: .*not-an-extension\.ts must default-export an extension definition/,
    );
    expect(lines[2]).toMatch(
      /^config error: extensions\.paths\[2\]: .*could not be imported: this module cannot be loaded$/,
    );
  });

  test("disabling an extension that is not installed", async () => {
    const { code, stderr } = await runWith({ extensions: { disabled: ["transprot-http"] } });
    expect(code).toBe(2);
    expect(stderr).toContain('config error: extensions.disabled[0]: no installed extension "transprot-http"');
  });

  test("check-config reports the same errors, and `config ok` for a good file", async () => {
    const bad = await runWith({ server: { port: -1 } }, "check-config");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("config error: server.port: ");

    const dir = tempDir();
    const file = writeConfig(dir, { server: { port: 8123 }, guards: { faultBudget: 5 } });
    const good = new DispatchProcess(["check-config", "--config", file]);
    expect(await good.exitWithin(10_000)).toBe(0);
    expect(good.stdout).toBe(`config ok (${file})\n`);
  });

  test("DISPATCH_CONFIG names the file when --config is absent", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, { nope: true });
    const child = new DispatchProcess(["check-config"], { DISPATCH_CONFIG: file });
    expect(await child.exitWithin(10_000)).toBe(2);
    expect(child.stderr.trim()).toBe("config error: nope: unknown key");
  });

  test("a bad command line exits 2 with the usage", async () => {
    const child = new DispatchProcess(["serve", "--port", "http"]);
    expect(await child.exitWithin(10_000)).toBe(2);
    expect(child.stderr).toContain(
      "dispatch: Expected `--port` to be an integer from 0 to 65535, got `http`",
    );
    expect(child.stderr).toContain("Usage: dispatch <command>");
  });
});
