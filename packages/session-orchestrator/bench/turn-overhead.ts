/**
 * Orchestration overhead per single-step turn: a zero-delay scripted provider, 1 and 100
 * conversations at once, against the same number of bare `ProvidersService.stream` calls (same
 * provider, same slots, same request shape) measured in the same run.
 *
 *   bun packages/session-orchestrator/bench/turn-overhead.ts
 *
 * A turn here is: admission, claim (SQLite transaction), turn.started, step.started, the model call
 * through the concurrency manager, the assistant message, text.delta + turn.completed, statuses, and
 * the `turn.finished` bus event. Each conversation takes `turnsPerConversation` turns and is then
 * replaced, so the history a turn loads stays short and the same across runs.
 */
import { median } from "@dispatch/bench-kit";
import { providersRef } from "@dispatch/providers";
import { startOrchestratorHost } from "../test/fixtures/orchestrator-host.ts";

const script = { replies: [], fallback: { steps: [{ text: "Done.", chunks: 1, delayMs: 0 }] } };
const h = await startOrchestratorHost({ script, maxConcurrent: 1000 });
const providers = h.test.get(providersRef);
const { orchestrator } = h;

const turnsPerConversation = 10;
const waiting = new Map<string, () => void>();
const early = new Set<string>();
h.test.host.bus.subscribe("bench", "turn.finished", ({ turnId, status }) => {
  if (status !== "completed") throw new Error(`turn ${turnId} ended ${status}`);
  const resolve = waiting.get(turnId);
  if (resolve) resolve();
  else early.add(turnId);
});

async function orchestratedTurn(conversationId: string): Promise<void> {
  const { turnId } = await orchestrator.startTurn({ conversationId, text: "go" });
  if (early.delete(turnId)) return;
  await new Promise<void>((resolve) => waiting.set(turnId, resolve));
  waiting.delete(turnId);
}

const system = "You are a coding agent working in a Dispatch workspace. ".repeat(8);
async function bareCall(i: number): Promise<void> {
  const context = {
    signal: new AbortController().signal,
    workspaceId: "default",
    conversationId: `bare-${i}`,
    turnId: `bare-${i}`,
    promptStartedAt: Date.now(),
  };
  const request = { model: "demo", system, messages: [{ role: "user" as const, content: "go" }], tools: [] };
  for await (const part of providers.stream("scripted", request, context)) {
    if (part.type === "error") throw new Error(part.error.message);
  }
}

let pool: string[] = [];
let used = 0;
/** `n` conversations, each reused for `turnsPerConversation` rounds. */
async function conversations(n: number): Promise<string[]> {
  if (pool.length !== n || used >= turnsPerConversation) {
    pool = await Promise.all(Array.from({ length: n }, () => h.newConversation()));
    used = 0;
  }
  used += 1;
  return pool;
}

/** Per-turn wall time of `rounds` rounds of `width` turns at once; bare and orchestrated alternate. */
async function measure(width: number, rounds: number) {
  const orchestrated: number[] = [];
  const bare: number[] = [];
  let bareId = 0;
  for (let round = 0; round < rounds; round += 1) {
    const ids = await conversations(width);
    const t0 = performance.now();
    await Promise.all(ids.map((id) => orchestratedTurn(id)));
    orchestrated.push((performance.now() - t0) / width);
    const t1 = performance.now();
    await Promise.all(ids.map(() => bareCall(bareId++)));
    bare.push((performance.now() - t1) / width);
  }
  return { orchestrated: median(orchestrated), bare: median(bare) };
}

// Warm-up: JIT, prepared statements, SQLite page cache.
await measure(1, 100);
await measure(100, 3);

const rows: Array<{
  conversations: number;
  turns: number;
  orchestratedMs: number;
  bareMs: number;
  overheadMs: number;
  ratio: number;
}> = [];
for (const [width, rounds] of [
  [1, 1500],
  [100, 40],
] as const) {
  const { orchestrated, bare } = await measure(width, rounds);
  rows.push({
    conversations: width,
    turns: width * rounds,
    orchestratedMs: Number(orchestrated.toFixed(4)),
    bareMs: Number(bare.toFixed(4)),
    overheadMs: Number((orchestrated - bare).toFixed(4)),
    ratio: Number((orchestrated / bare).toFixed(2)),
  });
}
console.log("per-turn wall time, median over rounds (at width 100: round time / 100)");
console.table(rows);
const worst = Math.max(...rows.map((r) => r.overheadMs));
console.log(
  `median overhead per turn: ${rows.map((r) => `${r.overheadMs} ms @${r.conversations}`).join(", ")}`,
);
console.log(worst < 2 ? "target met: under 2 ms per turn" : "target MISSED: 2 ms per turn");
await h.stop();
