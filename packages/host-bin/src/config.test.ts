import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineExtension } from "@dispatch/kernel";
import { z } from "zod";
import { ConfigError, checkExtensionConfig, loadConfig } from "./config.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function configFile(value: unknown): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "dispatch-config-test-"));
  dirs.push(dir);
  const file = join(dir, "dispatch.json");
  writeFileSync(file, JSON.stringify(value));
  return { dir, file };
}

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error("expected a ConfigError");
}

const server = defineExtension({
  manifest: { id: "server", version: "1.0.0" },
  config: {
    key: "server",
    schema: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().default(7878),
        token: z.string().nullable().default(null),
      })
      .strict()
      .default({ host: "127.0.0.1", port: 7878, token: null }),
  },
  activate() {},
});

describe("loadConfig", () => {
  test("no file: the embedded default, data dir ./.dispatch under the working directory", () => {
    const config = loadConfig({ flags: {}, env: {}, cwd: "/srv/app" });
    expect(config.source).toBe("embedded default");
    expect(config.dataDir).toBe("/srv/app/.dispatch");
    expect(config.host).toEqual({
      extensions: { disabled: [], paths: [] },
      guards: { faultBudget: 20, faultWindowMs: 60_000, shutdownTimeoutMs: 15_000 },
    });
  });

  test("the file's dataDir is relative to the file; env and flag are relative to the working directory", () => {
    const { dir, file } = configFile({ dataDir: "state" });
    expect(loadConfig({ flags: { config: file }, env: {}, cwd: "/elsewhere" }).dataDir).toBe(
      join(dir, "state"),
    );
    expect(
      loadConfig({ flags: { config: file }, env: { DISPATCH_DATA_DIR: "env-dir" }, cwd: "/w" }).dataDir,
    ).toBe("/w/env-dir");
    expect(
      loadConfig({
        flags: { config: file, dataDir: "flag-dir" },
        env: { DISPATCH_DATA_DIR: "env-dir" },
        cwd: "/w",
      }).dataDir,
    ).toBe("/w/flag-dir");
  });

  test("DISPATCH_CONFIG is used when --config is absent, and --config wins", () => {
    const a = configFile({ guards: { faultBudget: 3 } });
    const b = configFile({ guards: { faultBudget: 4 } });
    expect(
      loadConfig({ flags: {}, env: { DISPATCH_CONFIG: a.file }, cwd: "/" }).host.guards.faultBudget,
    ).toBe(3);
    expect(
      loadConfig({ flags: { config: b.file }, env: { DISPATCH_CONFIG: a.file }, cwd: "/" }).host.guards
        .faultBudget,
    ).toBe(4);
  });

  test("--host, --port and DISPATCH_TOKEN override the server slice", () => {
    const { file } = configFile({ server: { host: "127.0.0.2", port: 1, token: "from-file-token-xx" } });
    const config = loadConfig({
      flags: { config: file, host: "127.0.0.3", port: 0 },
      env: { DISPATCH_TOKEN: "from-env-token-xxxx" },
      cwd: "/",
    });
    expect(config.raw.server).toEqual({ host: "127.0.0.3", port: 0, token: "from-env-token-xxxx" });
    expect(loadConfig({ flags: { port: 9 }, env: {}, cwd: "/" }).raw.server).toEqual({ port: 9 });
  });

  test("a malformed server slice is left for its own validation to report", () => {
    const { file } = configFile({ server: "everywhere" });
    const config = loadConfig({ flags: { config: file, port: 1 }, env: {}, cwd: "/" });
    expect(issuesOf(() => checkExtensionConfig(config, [server]))).toEqual([
      "server: Invalid input: expected object, received string",
    ]);
  });

  test("host keys are validated with their JSON paths", () => {
    const { file } = configFile({
      dataDir: "",
      extensions: { paths: [1], disabled: ["Not A Slug"], enabled: [] },
      guards: { faultWindowMs: 10 },
    });
    expect(issuesOf(() => loadConfig({ flags: { config: file }, env: {}, cwd: "/" })).sort()).toEqual([
      "dataDir: Too small: expected string to have >=1 characters",
      "extensions.disabled[0]: must be an extension id (a lowercase slug)",
      "extensions.enabled: unknown key",
      "extensions.paths[0]: Invalid input: expected string, received number",
      "guards.faultWindowMs: Too small: expected number to be >=1000",
    ]);
  });
});

describe("checkExtensionConfig", () => {
  test("accepts host keys and keys claimed by installed extensions", () => {
    const { file } = configFile({ server: { port: 1 }, guards: { faultBudget: 2 }, dataDir: "d" });
    const config = loadConfig({ flags: { config: file }, env: {}, cwd: "/" });
    expect(() => checkExtensionConfig(config, [server])).not.toThrow();
  });

  test("unknown keys, bad slices and unknown disabled ids are reported together", () => {
    const { file } = configFile({ sever: {}, server: { port: "x" }, extensions: { disabled: ["ghost"] } });
    const config = loadConfig({ flags: { config: file }, env: {}, cwd: "/" });
    expect(issuesOf(() => checkExtensionConfig(config, [server]))).toEqual([
      "sever: unknown key",
      'extensions.disabled[0]: no installed extension "ghost" (installed: server)',
      "server.port: Invalid input: expected number, received string",
    ]);
  });
});
