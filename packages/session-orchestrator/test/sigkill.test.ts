import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectGapFree, startOrchestratorHost } from "./fixtures/orchestrator-host.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Line {
  conversationId: string;
  seq?: number;
  type?: string;
  turnId?: string | null;
  started?: string;
}

/** Reads JSON lines from the child until `enough` says stop; bounded by `timeoutMs`. */
async function readLines(
  stream: ReadableStream<Uint8Array>,
  enough: (lines: Line[]) => boolean,
  timeoutMs: number,
): Promise<Line[]> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const lines: Line[] = [];
  let rest = "";
  const timer = setTimeout(() => void reader.cancel(), timeoutMs);
  try {
    while (!enough(lines)) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += decoder.decode(value, { stream: true });
      const parts = rest.split("\n");
      rest = parts.pop() ?? "";
      for (const part of parts) if (part.trim() !== "") lines.push(JSON.parse(part) as Line);
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  return lines;
}

test("a host killed with SIGKILL mid-turn: after restart the turn is interrupted and no event is lost", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "orch-sigkill-"));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "fixtures", "kill-host.ts"), dataDir], {
    stdout: "pipe",
    stderr: "pipe",
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const deltas = (lines: Line[]) => lines.filter((l) => l.type === "text.delta").length;
  const lines = await readLines(child.stdout, (seen) => deltas(seen) >= 8, 20_000);
  if (deltas(lines) < 8) {
    child.kill("SIGKILL");
    throw new Error(`the child host did not stream; its stderr:\n${await new Response(child.stderr).text()}`);
  }
  child.kill("SIGKILL");
  await child.exited;
  expect(child.signalCode).toBe("SIGKILL");

  const start = lines.find((l) => l.started !== undefined);
  const conversationId = start?.conversationId as string;
  const turnId = start?.started as string;
  const before = lines.filter((l) => l.seq !== undefined);
  expect(before.every((l) => l.turnId === turnId && l.conversationId === conversationId)).toBe(true);
  expect(before.some((l) => l.type === "turn.completed")).toBe(false);

  const h = await startOrchestratorHost({ dataDir });
  cleanups.push(() => h.stop());
  expect((await h.store.turns.get(turnId))?.status).toBe("interrupted");
  const events = await h.store.events.listAfter(conversationId, 0, 10_000);
  expect(expectGapFree(events)).toBe(true);
  // Every event the child saw published (so persisted) before the kill is there, unchanged, in order.
  for (const line of before) {
    expect(events[(line.seq as number) - 1]).toMatchObject({ seq: line.seq, type: line.type, turnId });
  }
  expect(events.length).toBeGreaterThan(before.length);
  expect(events.at(-1)).toMatchObject({
    type: "turn.interrupted",
    turnId,
    data: { reason: "host restarted" },
  });
  expect(events.filter((e) => e.type.startsWith("turn.") && e.type !== "turn.started")).toHaveLength(1);
});
