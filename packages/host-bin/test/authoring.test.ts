/**
 * Authoring an extension outside the repo, the way its author would: through the real bin/dispatch
 * with no `bun` on PATH, in temp folders outside the checkout, with the real HTTP server and tsc.
 */
import { afterAll, afterEach, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { templateDir } from "../src/new-extension.ts";
import {
  cleanup,
  DispatchProcess,
  dispatchBin,
  pathWithoutBun,
  tempDir,
  writeConfig,
} from "./dispatch-process.ts";

// real processes, and tsc checks every host source an extension imports: minutes on a busy machine
setDefaultTimeout(240_000);
afterEach(cleanup);

const exampleDir = resolve(import.meta.dir, "../../../examples/hello-extension");

/** Runs bin/dispatch to completion without bun on PATH. */
async function dispatch(args: string[], cwd: string): Promise<DispatchProcess> {
  const child = new DispatchProcess(args, { PATH: pathWithoutBun() }, cwd, [dispatchBin]);
  await child.exitWithin(180_000);
  return child;
}

/** A real tsc run in `dir` with its own tsconfig.json; resolves with its exit code and output. */
async function tsc(dir: string): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn([process.execPath, join(dir, "node_modules/.bin/tsc"), "--noEmit", "-p", dir], {
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, out, err] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  return { code, output: out + err };
}

describe("an extension scaffolded outside the repo", () => {
  let home: string;
  let extDir: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "dispatch-authoring-"));
    extDir = join(home, "my-ext");
    // a relative DIR, resolved against the caller's working directory
    const made = await dispatch(["new-extension", "my-ext"], home);
    expect(made.proc.exitCode, made.stderr).toBe(0);
    expect(made.stdout).toContain(`created extension "my-ext" in ${extDir}`);
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  test("has the documented files and links, and `dispatch test` passes its tests", async () => {
    for (const file of [
      "package.json",
      "tsconfig.json",
      ".gitignore",
      "src/index.ts",
      "test/my-ext.test.ts",
    ]) {
      expect(existsSync(join(extDir, file))).toBe(true);
    }
    expect(readFileSync(join(extDir, "tsconfig.json"), "utf8")).toBe(
      readFileSync(join(templateDir, "tsconfig.json"), "utf8"),
    );
    const run = await dispatch(["test", extDir], home);
    expect(run.proc.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).toContain("2 pass");
  });

  test("loads through extensions.paths in `dispatch serve`, answers its route, and is listed", async () => {
    const config = writeConfig(home, {
      extensions: { paths: [join(extDir, "src/index.ts")] },
      "my-ext": { greeting: "Hello from serve" },
    });
    const listed = await dispatch(["extensions", "--config", config], home);
    expect(listed.proc.exitCode, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/\n\d+\s+my-ext\s+0\.1\.0\s+installed\s+-\s+transport-http\n/);

    const dataDir = tempDir();
    const args = ["serve", "--config", config, "--port", "0", "--data-dir", dataDir];
    const child = new DispatchProcess(args, { PATH: pathWithoutBun() }, home, [dispatchBin]);
    const url = await child.url();
    const res = await fetch(`${url}/my-ext`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ greeting: "Hello from serve", workspacesCreated: 0 });
    child.proc.kill("SIGTERM");
    expect(await child.exitWithin(10_000)).toBe(0);
  });

  test("type-checks with its own tsconfig, and tsc refuses a private path of a package", async () => {
    // one tsc run proves both: the only errors are the deliberate ones in this file
    const bad = join(extDir, "src/private-import.ts");
    writeFileSync(bad, 'import type { Host } from "@dispatch/kernel/src/host.ts";\nexport type H = Host;\n');
    try {
      const { code, output } = await tsc(extDir);
      expect(code).not.toBe(0);
      const errors = output.split("\n").filter((line) => /error TS\d+/.test(line));
      expect(errors.length).toBeGreaterThan(0);
      for (const line of errors) expect(line).toStartWith("src/private-import.ts(");
      expect(output).toContain("Cannot find module '@dispatch/kernel/src/host.ts'");
    } finally {
      rmSync(bad);
    }
  });
});

describe("dispatch new-extension", () => {
  test("refuses a non-empty directory and leaves it as it was", async () => {
    const home = tempDir();
    mkdirSync(join(home, "taken"));
    writeFileSync(join(home, "taken", "notes.txt"), "mine");
    const run = await dispatch(["new-extension", join(home, "taken")], home);
    expect(run.proc.exitCode).toBe(1);
    expect(run.stderr).toContain(`${join(home, "taken")} is not empty (notes.txt)`);
    expect(readFileSync(join(home, "taken", "notes.txt"), "utf8")).toBe("mine");
    expect(existsSync(join(home, "taken", "package.json"))).toBe(false);
  });

  test("refuses a directory name that cannot be an extension id", async () => {
    const home = tempDir();
    const run = await dispatch(["new-extension", join(home, "My_Ext")], home);
    expect(run.proc.exitCode).toBe(1);
    expect(run.stderr).toContain('cannot name an extension "My_Ext"');
    expect(existsSync(join(home, "My_Ext"))).toBe(false);
  });
});

describe("dispatch test", () => {
  test("exits with the tests' own status", async () => {
    const home = tempDir();
    const dir = join(home, "failing-ext");
    expect((await dispatch(["new-extension", dir], home)).proc.exitCode).toBe(0);
    writeFileSync(
      join(dir, "test/fails.test.ts"),
      'import { expect, test } from "bun:test";\ntest("fails", () => expect(1).toBe(2));\n',
    );
    const run = await dispatch(["test", dir], home);
    expect(run.proc.exitCode).toBe(1);
    expect(run.stderr).toContain("1 fail");
    // arguments after `--` go to bun test
    const one = await dispatch(["test", dir, "--", "--test-name-pattern", "greeting"], home);
    expect(one.proc.exitCode, one.stderr).toBe(0);
    expect(one.stderr).toContain("1 pass");
  });

  test("names a private import and says what to import instead", async () => {
    const home = tempDir();
    const dir = join(home, "sneaky");
    expect((await dispatch(["new-extension", dir], home)).proc.exitCode).toBe(0);
    const index = join(dir, "src/index.ts");
    writeFileSync(
      index,
      `import { createHost } from "@dispatch/kernel/src/host.ts";\n${readFileSync(index, "utf8")}`,
    );
    const run = await dispatch(["test", dir], home);
    expect(run.proc.exitCode).toBe(1);
    expect(run.stderr).toContain(
      `${index} imports "@dispatch/kernel/src/host.ts", which is not a public entry of @dispatch/kernel; import one of @dispatch/kernel, @dispatch/kernel/testing`,
    );
  });
});

describe("extensions.paths outside the repo", () => {
  test("an unlinked folder and a private import are config errors that say what to do", async () => {
    const home = tempDir();
    mkdirSync(join(home, "loose"));
    const loose = join(home, "loose", "ext.ts");
    const definition = (id: string) =>
      `export default defineExtension({ manifest: { id: "${id}", version: "0.1.0" }, activate() {} });\n`;
    writeFileSync(loose, `import { defineExtension } from "@dispatch/kernel";\n${definition("loose")}`);
    const sneaky = join(home, "loose", "sneaky.ts");
    writeFileSync(
      sneaky,
      `import { defineExtension } from "@dispatch/kernel";\nimport "@dispatch/transport-http/src/app.ts";\n${definition("sneaky")}`,
    );
    const config = writeConfig(home, { extensions: { paths: ["loose/ext.ts", "loose/sneaky.ts"] } });
    const run = await dispatch(["check-config", "--config", config], home);
    expect(run.proc.exitCode).toBe(2);
    expect(run.stderr).toContain(
      `extensions.paths[0]: ${loose} could not be imported: ${loose} imports "@dispatch/kernel", which does not resolve from ${join(home, "loose")}: run \`${dispatchBin} link ${join(home, "loose")}\``,
    );
    expect(run.stderr).toContain(
      `${sneaky} imports "@dispatch/transport-http/src/app.ts", which is not a public entry of @dispatch/transport-http; import one of @dispatch/transport-http, @dispatch/transport-http/extension, @dispatch/transport-http/testing`,
    );

    // the fix the first message names works; the private import stays refused
    expect((await dispatch(["link", join(home, "loose")], home)).proc.exitCode).toBe(0);
    const linked = await dispatch(["check-config", "--config", config], home);
    expect(linked.proc.exitCode).toBe(2);
    expect(linked.stderr).not.toContain("extensions.paths[0]");
    expect(linked.stderr).toContain("extensions.paths[1]");
  });
});

describe("examples/hello-extension, laid out as the scaffold makes an extension", () => {
  test("has the scaffold's package.json shape and tsconfig", () => {
    const scaffoldPackage = readFileSync(join(templateDir, "package.json"), "utf8").replaceAll(
      "__ID__",
      "hello-extension",
    );
    expect(readFileSync(join(exampleDir, "package.json"), "utf8")).toBe(scaffoldPackage);
    expect(readFileSync(join(exampleDir, "tsconfig.json"), "utf8")).toBe(
      readFileSync(join(templateDir, "tsconfig.json"), "utf8"),
    );
  });

  test("passes its own tests through `dispatch test` and type-checks with its own tsconfig", async () => {
    const run = await dispatch(["test", exampleDir], exampleDir);
    expect(run.proc.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).toContain("4 pass");
    const { code, output } = await tsc(exampleDir);
    expect(output).toBe("");
    expect(code).toBe(0);
  });
});
