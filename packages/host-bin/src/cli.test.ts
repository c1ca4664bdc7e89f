import { describe, expect, test } from "bun:test";
import { parseCli, UsageError } from "./cli.ts";

function usageError(argv: string[]): string {
  try {
    parseCli(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(argv)} to be rejected`);
}

describe("parseCli", () => {
  test("serve with every flag", () => {
    expect(
      parseCli(["serve", "--config", "c.json", "--host", "0.0.0.0", "--port", "0", "--data-dir", "/d"]),
    ).toEqual({ command: "serve", flags: { config: "c.json", host: "0.0.0.0", port: 0, dataDir: "/d" } });
  });

  test("serve is the default command", () => {
    expect(parseCli([])).toEqual({ command: "serve", flags: {} });
    expect(parseCli(["--port=7000"])).toEqual({ command: "serve", flags: { port: 7000 } });
  });

  test("extensions and check-config take --config only", () => {
    expect(parseCli(["extensions", "--config", "x.json"])).toEqual({
      command: "extensions",
      flags: { config: "x.json" },
    });
    expect(parseCli(["check-config"])).toEqual({ command: "check-config", flags: {} });
    expect(usageError(["check-config", "--port", "1"])).toBe('--port is only accepted by "serve"');
  });

  test("help and version win over everything else", () => {
    expect(parseCli(["serve", "--help"])).toEqual({ command: "help" });
    expect(parseCli(["-h"])).toEqual({ command: "help" });
    expect(parseCli(["-v"])).toEqual({ command: "version" });
  });

  test("bad input is a UsageError with a clear message", () => {
    expect(usageError(["launch"])).toBe('unknown command "launch"');
    expect(usageError(["serve", "now"])).toBe('unexpected argument "now"');
    expect(usageError(["serve", "--port", "65536"])).toBe(
      "Expected `--port` to be an integer from 0 to 65535, got `65536`",
    );
    expect(usageError(["serve", "--port=-1"])).toContain("got `-1`");
    expect(usageError(["serve", "--verbose"])).toContain("--verbose");
  });
});

describe("extension folder commands", () => {
  test("new-extension, link and test take one DIR; test passes what follows `--` to bun test", () => {
    expect(parseCli(["new-extension", "../my-ext"])).toEqual({ command: "new-extension", dir: "../my-ext" });
    expect(parseCli(["link", "x"])).toEqual({ command: "link", dir: "x" });
    expect(parseCli(["test", "x"])).toEqual({ command: "test", dir: "x", bunArgs: [] });
    expect(parseCli(["test", "x", "--", "--bail", "-t", "route"])).toEqual({
      command: "test",
      dir: "x",
      bunArgs: ["--bail", "-t", "route"],
    });
  });

  test("a missing DIR, a second one, a flag or a stray `--` is a UsageError", () => {
    expect(usageError(["new-extension"])).toBe(
      '"new-extension" needs the extension\'s directory: dispatch new-extension DIR',
    );
    expect(usageError(["test", "a", "b"])).toBe('unexpected argument "b"');
    expect(usageError(["link", "a", "--config", "c.json"])).toBe('--config is not accepted by "link"');
    expect(usageError(["link", "a", "--", "x"])).toBe('"--" is only accepted by "test"');
    expect(usageError(["serve", "--", "x"])).toBe('"--" is only accepted by "test"');
  });
});

describe("client commands", () => {
  test("ws, chat, tail and tasks parse with --url and --json", () => {
    expect(parseCli(["ws", "list", "--json", "--url", "http://h:1"])).toEqual({
      command: "client",
      client: { command: "ws", action: "list", global: { json: true, url: "http://h:1" } },
    });
    expect(parseCli(["ws", "create", "demo", "--name", "Demo"])).toMatchObject({
      client: { command: "ws", action: "create", id: "demo", name: "Demo" },
    });
    expect(parseCli(["chat", "demo"])).toMatchObject({ client: { command: "chat", workspaceId: "demo" } });
    expect(parseCli(["tail", "c1", "--after", "7"])).toMatchObject({
      client: { conversationId: "c1", after: 7 },
    });
    expect(parseCli(["tasks", "add", "demo", "fix", "it", "--priority", "3"])).toMatchObject({
      client: { action: "add", workspaceId: "demo", spec: "fix it", priority: 3 },
    });
  });

  test("a wrong client command line is a UsageError", () => {
    expect(usageError(["ws"])).toBe('"dispatch ws" takes one of: list, create, star, unstar');
    expect(usageError(["ws", "star"])).toBe('"dispatch ws star ID" needs an id');
    expect(usageError(["ws", "list", "extra"])).toBe('unexpected argument "extra"');
    expect(usageError(["chat"])).toBe('"dispatch chat WORKSPACE" needs a workspace id');
    expect(usageError(["tail", "c", "--after=-1"])).toBe(
      "Expected `--after` to be an integer >= 0, got `-1`",
    );
    expect(usageError(["ws", "list", "--name", "x"])).toBe('--name is not accepted by "dispatch ws"');
    expect(usageError(["tasks", "add", "demo"])).toBe('"dispatch tasks add WORKSPACE SPEC..." needs a spec');
  });
});
