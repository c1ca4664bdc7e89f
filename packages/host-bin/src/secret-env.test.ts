import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { addToolSecretNames, secretEnvNames } from "./secret-env.ts";

describe("secretEnvNames", () => {
  test("every provider's apiKeyEnv (defaults included) and DISPATCH_TOKEN", () => {
    const raw = {
      providers: [
        {
          id: "gw",
          kind: "openai-compatible",
          baseURL: "http://127.0.0.1:1/v1",
          apiKeyEnv: "LLM_GATEWAY_AUTH",
        },
        { id: "claude", kind: "anthropic" },
        { id: "local", kind: "openai-compatible", baseURL: "http://127.0.0.1:2/v1" },
      ],
    };
    expect(secretEnvNames(raw)).toEqual(["ANTHROPIC_API_KEY", "DISPATCH_TOKEN", "LLM_GATEWAY_AUTH"]);
    expect(secretEnvNames({ providers: "not a list" })).toEqual(["DISPATCH_TOKEN"]);
  });

  test("an entry of a kind an extension contributes does not hide the others, and counts its own apiKeyEnv", () => {
    const raw = {
      providers: [
        { id: "claude", kind: "anthropic" },
        { id: "parrot", kind: "echo", prefix: "> " },
        { id: "keyed", kind: "echo", apiKeyEnv: "ECHO_SERVICE_KEY" },
      ],
    };
    expect(secretEnvNames(raw)).toEqual(["ANTHROPIC_API_KEY", "DISPATCH_TOKEN", "ECHO_SERVICE_KEY"]);
  });

  test("addToolSecretNames merges into tools.secretEnvNames and leaves a malformed slice alone", () => {
    const raw: Record<string, unknown> = { tools: { bashTimeoutMs: 1000, secretEnvNames: ["MINE"] } };
    addToolSecretNames(raw, ["MINE", "LLM_GATEWAY_AUTH"]);
    expect(raw.tools).toEqual({ bashTimeoutMs: 1000, secretEnvNames: ["MINE", "LLM_GATEWAY_AUTH"] });
    const bad: Record<string, unknown> = { tools: 7 };
    addToolSecretNames(bad, ["X"]);
    expect(bad.tools).toBe(7);
  });
});

test("dropSecretsFromEnvironment deletes the named variables and blanks secret entries in /proc/self/environ", async () => {
  const module = resolve(import.meta.dir, "secret-env.ts");
  const script = `
    import { readFileSync } from "node:fs";
    import { dropSecretsFromEnvironment } from ${JSON.stringify(module)};
    const dropped = dropSecretsFromEnvironment(["LLM_GATEWAY_AUTH"]);
    const environ = readFileSync("/proc/self/environ", "latin1");
    console.log(JSON.stringify({ dropped, environ, env: process.env.LLM_GATEWAY_AUTH ?? null, other: process.env.OTHER_TOKEN ?? null }));
  `;
  const child = Bun.spawnSync([process.execPath, "-e", script], {
    env: {
      PATH: process.env.PATH ?? "",
      LLM_GATEWAY_AUTH: "gw-value-123",
      OTHER_TOKEN: "other-value-456",
      PLAIN: "kept",
    },
  });
  const out = JSON.parse(child.stdout.toString()) as {
    dropped: { removed: string[]; blanked: string[]; problem?: string };
    environ: string;
    env: string | null;
    other: string | null;
  };
  expect(out.dropped.problem).toBeUndefined();
  expect(out.dropped.removed).toEqual(["LLM_GATEWAY_AUTH"]);
  expect(out.dropped.blanked.sort()).toEqual(["LLM_GATEWAY_AUTH", "OTHER_TOKEN"]);
  expect(out.env).toBeNull();
  // Secret-looking but not named by config: still readable in-process, gone from the environ file.
  expect(out.other).toBe("other-value-456");
  expect(out.environ).toContain("PLAIN=kept");
  expect(out.environ).not.toContain("gw-value-123");
  expect(out.environ).not.toContain("other-value-456");
});
