import { expect, test } from "bun:test";
import { orchestratorConfigSchema } from "./config.ts";

test("loopGuard and compaction default to 3 repeats, 0.8 and 0.3, and bad values name their path", () => {
  const parsed = orchestratorConfigSchema.parse({});
  expect(parsed.loopGuard).toEqual({ repeats: 3 });
  expect(parsed.compaction).toEqual({ at: 0.8, minShrink: 0.3 });
  const bad = orchestratorConfigSchema.safeParse({
    loopGuard: { repeats: 1 },
    compaction: { at: 0, minShrink: 1, every: 2 },
  });
  expect(bad.success).toBe(false);
  const paths = bad.error?.issues.map((i) => i.path.join(".")) ?? [];
  expect(paths).toEqual(
    expect.arrayContaining(["loopGuard.repeats", "compaction.at", "compaction.minShrink"]),
  );
  expect(bad.error?.issues.find((i) => i.code === "unrecognized_keys")?.path).toEqual(["compaction"]);
});
