import { describe, expect, test } from "bun:test";
import { z } from "zod";
import {
  type AnyExtension,
  defineExtension,
  extensionConfigKeys,
  formatPath,
  StartupError,
  validateExtensionConfigs,
} from "../src/index.ts";
import { hostOf, thrownBy } from "./fixtures.ts";

const serverSchema = z
  .object({
    port: z.number().int().min(0).default(7878),
    limits: z
      .object({ items: z.array(z.number().int()).default([]) })
      .strict()
      .default({ items: [] }),
  })
  .strict()
  .default({ port: 7878, limits: { items: [] } });

let seenConfig: unknown;
const server = defineExtension({
  manifest: { id: "server", version: "1.0.0" },
  config: { key: "server", schema: serverSchema },
  activate(ctx) {
    // typed from the schema: a wrong property access would not compile
    seenConfig = { port: ctx.config.port, items: ctx.config.limits.items };
  },
});
const plain: AnyExtension = defineExtension({ manifest: { id: "plain", version: "1.0.0" }, activate() {} });

describe("config slices", () => {
  test("each extension gets its parsed slice; a missing slice gets the schema default", async () => {
    const { host } = hostOf([server, plain], { config: { server: { port: 9 } } });
    await host.start();
    expect(seenConfig).toEqual({ port: 9, items: [] });
    await host.stop();

    const bare = hostOf([server]);
    await bare.host.start();
    expect(seenConfig).toEqual({ port: 7878, items: [] });
    await bare.host.stop();
  });

  test("every issue names its JSON path, including nested arrays", () => {
    const result = validateExtensionConfigs([server], {
      server: { port: "80", limits: { items: [1, 2.5] } },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.path)).toEqual(["server.port", "server.limits.items[1]"]);
    expect(result.issues[0]?.message).toContain("expected number");
  });

  test("an unknown key is reported at its own path", () => {
    const result = validateExtensionConfigs([server], { server: { port: 1, prot: 2, limits: { extra: 1 } } });
    expect(result).toEqual({
      ok: false,
      issues: [
        { path: "server.limits.extra", message: "unknown key" },
        { path: "server.prot", message: "unknown key" },
      ],
    });
  });

  test("the host refuses to start on a bad slice, before any activation", () => {
    seenConfig = undefined;
    const { host } = hostOf([server], { config: { server: { port: -1 } } });
    const error = thrownBy(() => host.check()) as StartupError;
    expect(error).toBeInstanceOf(StartupError);
    expect(error.problems.map((p) => [p.code, p.message.split(":")[0]])).toEqual([
      ["invalid_config", "server.port"],
    ]);
    expect(seenConfig).toBeUndefined();
  });

  test("extensionConfigKeys lists the keys extensions claim", () => {
    expect([...extensionConfigKeys([server, plain])]).toEqual(["server"]);
  });

  test("formatPath renders paths the way JSON reads", () => {
    expect(formatPath("", [])).toBe("(root)");
    expect(formatPath("", ["a", 0, "b"])).toBe("a[0].b");
    expect(formatPath("providers", [2, "maxConcurrent"])).toBe("providers[2].maxConcurrent");
  });
});
