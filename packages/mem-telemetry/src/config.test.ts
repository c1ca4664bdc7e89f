import { describe, expect, test } from "bun:test";
import { validateExtensionConfigs } from "@dispatch/kernel";
import { memoryConfigDefaults, memTelemetryConfigSchema } from "./config.ts";
import { memTelemetryExtension } from "./extension.ts";

function issuesFor(telemetry: unknown) {
  const result = validateExtensionConfigs([memTelemetryExtension], { telemetry });
  return result.ok ? [] : result.issues;
}

describe("telemetry config", () => {
  test("a missing slice, an empty one and an empty memory object all get the defaults", () => {
    for (const raw of [undefined, {}, { memory: {} }]) {
      expect(memTelemetryConfigSchema.parse(raw)).toEqual({ memory: { ...memoryConfigDefaults } });
    }
  });

  test("given values are kept", () => {
    const memory = { intervalMs: 1000, limitBytes: 2048, warnRatio: 0.5, shedRatio: 1 };
    expect(memTelemetryConfigSchema.parse({ memory })).toEqual({ memory });
  });

  test("warnRatio must be below shedRatio, and the message names the path", () => {
    expect(issuesFor({ memory: { warnRatio: 0.9, shedRatio: 0.8 } })).toEqual([
      {
        path: "telemetry.memory.warnRatio",
        message: "Expected `warnRatio` to be below `shedRatio` (0.8), got `0.9`",
      },
    ]);
    expect(issuesFor({ memory: { warnRatio: 0.95 } })[0]?.path).toBe("telemetry.memory.warnRatio");
  });

  test("shedRatio at most 1, ratios above 0, a positive integer limit", () => {
    expect(issuesFor({ memory: { shedRatio: 1.5 } }).map((i) => i.path)).toEqual([
      "telemetry.memory.shedRatio",
    ]);
    expect(issuesFor({ memory: { warnRatio: 0 } }).map((i) => i.path)).toEqual([
      "telemetry.memory.warnRatio",
    ]);
    expect(issuesFor({ memory: { limitBytes: -1 } }).map((i) => i.path)).toEqual([
      "telemetry.memory.limitBytes",
    ]);
    expect(issuesFor({ memory: { intervalMs: 1.5 } }).map((i) => i.path)).toEqual([
      "telemetry.memory.intervalMs",
    ]);
  });

  test("unknown keys are errors at both levels", () => {
    expect(issuesFor({ memory: { limit: 5 } }).map((i) => i.path)).toEqual(["telemetry.memory.limit"]);
    expect(issuesFor({ cpu: {} }).map((i) => i.path)).toEqual(["telemetry.cpu"]);
  });
});
