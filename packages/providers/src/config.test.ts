import { describe, expect, test } from "bun:test";
import { issuesFrom } from "@dispatch/kernel";
import { z } from "zod";
import { builtinProviderKinds } from "./builtin-kinds.ts";
import { providersConfigSchema, providersConfigSchemaOf } from "./config.ts";
import { defineProviderKind } from "./provider-kind.ts";
import { DEFAULT_SCRIPTED_REPLY } from "./script.ts";

/** The issues a value produces, as the kernel reports them under the `providers` key. */
function issues(value: unknown, schema = providersConfigSchema): string[] {
  const parsed = schema.safeParse(value);
  return parsed.success ? [] : issuesFrom("providers", parsed.error).map((i) => `${i.path}: ${i.message}`);
}

describe("providers config", () => {
  test("a missing slice means exactly one scripted provider with the friendly fallback", () => {
    expect(providersConfigSchema.parse(undefined)).toEqual([
      {
        id: "scripted",
        kind: "scripted",
        models: [],
        maxConcurrent: 2,
        maxAttempts: 4,
        stallTimeoutMs: 120_000,
        maxRetryAfterMs: 60_000,
        backoff: { baseMs: 1000, maxMs: 30_000 },
        script: {
          replies: [],
          fallback: { steps: [{ text: DEFAULT_SCRIPTED_REPLY, chunks: 1, delayMs: 0 }] },
        },
      },
    ]);
  });

  test("defaults fill in per kind", () => {
    const [anthropic, local] = providersConfigSchema.parse([
      { id: "anthropic", kind: "anthropic" },
      { id: "local", kind: "openai-compatible", baseURL: "http://127.0.0.1:11434/v1" },
    ]);
    expect(anthropic).toMatchObject({
      apiKeyEnv: "ANTHROPIC_API_KEY",
      maxConcurrent: 1,
      maxAttempts: 4,
      stallTimeoutMs: 120_000,
      maxRetryAfterMs: 60_000,
      backoff: { baseMs: 1000, maxMs: 30_000 },
    });
    expect(local?.kind === "openai-compatible" && local.apiKeyEnv).toBeUndefined();
    expect(local?.models).toEqual([]);
  });

  test("the DESIGN §8 sample parses", () => {
    expect(
      issues([
        { id: "anthropic", kind: "anthropic", apiKeyEnv: "ANTHROPIC_API_KEY", maxConcurrent: 4 },
        {
          id: "gateway",
          kind: "anthropic",
          baseURL: "https://llm-gateway.internal/v1",
          apiKeyEnv: "GATEWAY_KEY",
          maxConcurrent: 8,
        },
        { id: "local", kind: "openai-compatible", baseURL: "http://127.0.0.1:11434/v1", maxConcurrent: 1 },
        {
          id: "scripted",
          kind: "scripted",
          maxConcurrent: 2,
          script: {
            replies: [
              {
                when: "regex over the user's text",
                steps: [
                  { tool: "write_file", input: { path: "a.txt", content: "hi" } },
                  { text: "Done.", chunks: 4, delayMs: 50 },
                ],
              },
            ],
            fallback: { steps: [{ text: "Hello from the scripted provider." }] },
          },
        },
      ]),
    ).toEqual([]);
  });

  test("every error names its JSON path", () => {
    expect(issues([{ id: "a", kind: "anthropic", maxConcurrent: 0 }])).toEqual([
      "providers[0].maxConcurrent: Too small: expected number to be >=1",
    ]);
    expect(issues([{ id: "a", kind: "anthropic", colour: "red" }])[0]).toStartWith("providers[0].colour");
    expect(issues([{ id: "local", kind: "openai-compatible" }])[0]).toStartWith("providers[0].baseURL: ");
    expect(issues([{ id: "x", kind: "gemini" }])[0]).toStartWith("providers[0].kind: ");
    expect(issues([{ id: "Bad Id", kind: "scripted" }])[0]).toStartWith("providers[0].id: ");
    expect(issues([{ id: "a", kind: "anthropic", apiKeyEnv: "not a var" }])[0]).toStartWith(
      "providers[0].apiKeyEnv: ",
    );
    expect(issues([{ id: "a", kind: "anthropic", baseURL: "ftp://x" }])[0]).toStartWith(
      "providers[0].baseURL: ",
    );
    expect(
      issues([{ id: "s", kind: "scripted", script: { replies: [{ when: "(unclosed", steps: [] }] } }]),
    ).toEqual(["providers[0].script.replies[0].when: must be a valid regular expression"]);
    expect(
      issues([
        { id: "s", kind: "scripted", script: { replies: [], fallback: { steps: [{ txt: "x" }] } } },
      ])[0],
    ).toStartWith("providers[0].script.fallback.steps[0]");
    expect(issues([{ id: "a", kind: "anthropic", script: {} }])[0]).toStartWith("providers[0].script");
  });

  test("delays are bounded: maxRetryAfterMs by a day, the timers by what setTimeout can wait", () => {
    expect(issues([{ id: "a", kind: "anthropic", maxRetryAfterMs: 86_400_000 }])).toEqual([]);
    expect(issues([{ id: "a", kind: "anthropic", maxRetryAfterMs: 86_400_001 }])).toEqual([
      "providers[0].maxRetryAfterMs: must be at most 86400000 ms (a day)",
    ]);
    const tooLong = "must be at most 2147483647 ms (about 24.8 days, the longest timer)";
    expect(issues([{ id: "a", kind: "anthropic", stallTimeoutMs: 2 ** 31 }])).toEqual([
      `providers[0].stallTimeoutMs: ${tooLong}`,
    ]);
    expect(issues([{ id: "a", kind: "anthropic", backoff: { maxMs: 2 ** 40 } }])).toEqual([
      `providers[0].backoff.maxMs: ${tooLong}`,
    ]);
  });

  test("duplicate ids are an error at the later entry's id", () => {
    expect(
      issues([
        { id: "a", kind: "scripted" },
        { id: "b", kind: "scripted" },
        { id: "a", kind: "anthropic" },
      ]),
    ).toEqual(['providers[2].id: duplicate provider id "a" (also at index 0)']);
  });
});

describe("providers config with contributed kinds", () => {
  const loud = defineProviderKind({
    kind: "loud",
    options: z.object({ volume: z.number().int().min(1).max(11).default(5) }),
    create: () => ({ status: "unavailable", reason: "not for calls" }),
  });
  const schema = providersConfigSchemaOf([...builtinProviderKinds, loud]);

  test("an entry of a contributed kind gets the common fields and its own options, defaults filled in", () => {
    expect(schema.parse([{ id: "l", kind: "loud", maxConcurrent: 3 }])).toEqual([
      {
        id: "l",
        kind: "loud",
        volume: 5,
        models: [],
        maxConcurrent: 3,
        maxAttempts: 4,
        stallTimeoutMs: 120_000,
        maxRetryAfterMs: 60_000,
        backoff: { baseMs: 1000, maxMs: 30_000 },
      },
    ]);
  });

  test("its options are checked with its schema, and another kind's options are unknown keys, by JSON path", () => {
    expect(
      issues(
        [
          { id: "a", kind: "scripted" },
          { id: "b", kind: "loud", volume: 12 },
          { id: "c", kind: "loud", temperature: 0.2, script: {} },
          { id: "d", kind: "scripted", volume: 3 },
        ],
        schema,
      ),
    ).toEqual([
      "providers[1].volume: Too big: expected number to be <=11",
      "providers[2].temperature: unknown key",
      "providers[2].script: unknown key",
      "providers[3].volume: unknown key",
    ]);
  });

  test("an unknown, missing or non-string kind names every known kind, sorted", () => {
    const known = "(known: anthropic, loud, openai-compatible, scripted)";
    expect(
      issues(
        [{ id: "a", kind: "scripted" }, { id: "x", kind: "x" }, { id: "y" }, { id: "z", kind: 1 }],
        schema,
      ),
    ).toEqual([
      `providers[1].kind: unknown provider kind "x" ${known}`,
      `providers[2].kind: missing provider kind ${known}`,
      `providers[3].kind: must be a string naming a provider kind ${known}`,
    ]);
  });

  test("with no kinds at all every entry is an unknown kind, and no entries are fine", () => {
    const none = providersConfigSchemaOf([]);
    expect(issues([{ id: "a", kind: "scripted" }], none)).toEqual([
      'providers[0]: unknown provider kind "scripted" (known: none)',
    ]);
    expect(none.parse([])).toEqual([]);
  });
});
