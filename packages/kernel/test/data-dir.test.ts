import { expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defineExtension } from "../src/index.ts";
import { createTestHost } from "../src/testing.ts";

test("ctx.dataDir is <dataDir>/extensions/<id>, created when first read", async () => {
  let seen = "";
  const writer = defineExtension({
    manifest: { id: "writer", version: "1.0.0" },
    activate(ctx) {
      seen = ctx.dataDir;
      writeFileSync(join(ctx.dataDir, "state.json"), "{}");
    },
  });
  const idle = defineExtension({ manifest: { id: "idle", version: "1.0.0" }, activate() {} });
  const t = await createTestHost({ extensions: [writer, idle] });
  try {
    expect(seen).toBe(join(t.dataDir, "extensions", "writer"));
    expect(readFileSync(join(seen, "state.json"), "utf8")).toBe("{}");
    // nothing is made for an extension that never asked for its directory
    expect(existsSync(join(t.dataDir, "extensions", "idle"))).toBe(false);
  } finally {
    await t.stop();
  }
});
