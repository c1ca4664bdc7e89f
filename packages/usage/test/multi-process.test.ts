import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ledgerHost } from "./fixtures.ts";

const child = join(import.meta.dir, "fixtures", "reserve-child.ts");

test("reservations racing from several processes on one database let exactly what fits through", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "usage-multiproc-"));
  try {
    // migrate once up front, so the children contend on reservations only
    const first = await ledgerHost({}, { dataDir });
    await first.test.stop();
    const startAt = Date.now() + 1500;
    const children = Array.from({ length: 3 }, () =>
      Bun.spawn([process.execPath, child, dataDir, "10", String(startAt)], {
        stdout: "pipe",
        stderr: "pipe",
      }),
    );
    const answers = await Promise.all(
      children.map(async (proc) => {
        const [out, err, code] = await Promise.all([
          new Response(proc.stdout).text(),
          new Response(proc.stderr).text(),
          proc.exited,
        ]);
        if (code !== 0) throw new Error(`child exited ${code}: ${err}`);
        return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as { passed: number };
      }),
    );
    // 30 calls of 1000 against 5000 across three processes: 5 reservations, never more
    expect(answers.reduce((sum, a) => sum + a.passed, 0)).toBe(5);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
