import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { createLocalBackend } from "@dispatch/workspace-tools";
import { runValidation } from "../src/validation.ts";
import { removeTempDirs, tempDir } from "./repo-fixture.ts";

afterEach(removeTempDirs);
const backend = createLocalBackend();

describe("runValidation", () => {
  test("exit 0 is passed, with the output of both streams", async () => {
    const root = tempDir();
    const result = await runValidation({
      backend,
      root,
      command: "echo out; echo err >&2; pwd",
      timeoutMs: 30_000,
    });
    expect(result).toMatchObject({ status: "passed", exitCode: 0 });
    expect(result.output).toContain("out\n");
    expect(result.output).toContain("err\n");
    expect(result.output).toContain(`${root}\n`);
  });

  test("another exit is failed, and only the last 4 KiB of a long output are kept", async () => {
    const root = tempDir();
    const result = await runValidation({
      backend,
      root,
      command: "seq 1 100000; echo 'the verdict' >&2; exit 4",
      timeoutMs: 30_000,
    });
    expect(result).toMatchObject({ status: "failed", exitCode: 4 });
    expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(4096);
    expect(result.output.endsWith("the verdict\n")).toBe(true);
    expect(result.output).toContain("99999\n100000\n");
  });

  test("a command past its timeout is killed: status timeout, with what it printed before", async () => {
    const root = tempDir();
    const result = await runValidation({
      backend,
      root,
      command: "echo started; sleep 60; echo never",
      timeoutMs: 300,
    });
    expect(result.status).toBe("timeout");
    expect(result.output).toContain("started");
    expect(result.output).not.toContain("never");
  });

  test("a command that cannot start (no such root) is status error, never a throw", async () => {
    const result = await runValidation({
      backend,
      root: join(tempDir(), "missing"),
      command: "true",
      timeoutMs: 30_000,
    });
    expect(result.status).toBe("error");
    expect(result.exitCode).toBeNull();
    expect(result.output).toContain("could not start");
  });
});
