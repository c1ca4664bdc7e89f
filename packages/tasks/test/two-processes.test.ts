import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { conversationStoreRef } from "@dispatch/conversation-store";
import { queueHost } from "./fixtures.ts";

const worker = join(import.meta.dir, "fixtures", "claim-worker.ts");

test("two processes claiming from one SQLite file: no task runs twice and maxRunning holds across both", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "tasks-two-"));
  try {
    const seed = await queueHost({}, { dataDir });
    await seed.test.get(conversationStoreRef).workspaces.create({ id: "ws", root: join(dataDir, "ws") });
    for (let i = 0; i < 500; i++)
      await seed.queue.create({ workspaceId: "ws", spec: `task ${i}`, options: {} });
    await seed.test.stop();

    const maxRunning = 3;
    const children = [0, 1].map(() =>
      Bun.spawn([process.execPath, worker, dataDir, String(maxRunning)], {
        stdout: "pipe",
        stderr: "inherit",
      }),
    );
    const outputs = await Promise.all(children.map((child) => new Response(child.stdout).text()));
    for (const child of children) expect(await child.exited).toBe(0);
    const runs = outputs.flatMap((out) =>
      out
        .trim()
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as { id: string; startedAt: number; endedAt: number; pid: number }),
    );
    // both took part, every task ran, none twice
    expect(new Set(runs.map((r) => r.pid)).size).toBe(2);
    expect(runs).toHaveLength(500);
    expect(new Set(runs.map((r) => r.id)).size).toBe(500);
    // each recorded interval lies inside the claim-to-completion window, so their overlap can only
    // understate how many ran at once; it must still never pass the limit
    const edges = runs.flatMap((r) => [
      { at: r.startedAt, delta: 1 },
      { at: r.endedAt, delta: -1 },
    ]);
    edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
    let now = 0;
    let peak = 0;
    for (const edge of edges) {
      now += edge.delta;
      peak = Math.max(peak, now);
    }
    expect(peak).toBeLessThanOrEqual(maxRunning);
    const check = await queueHost({}, { dataDir });
    expect(await check.queue.counts()).toMatchObject({ completed: 500, queued: 0, running: 0 });
    await check.test.stop();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 120_000);
