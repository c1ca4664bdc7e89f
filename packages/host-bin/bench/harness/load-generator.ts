/**
 * The client side of the hot-path benchmark, in its own process so that its work is not counted as
 * the host's: conversations on a running `dispatch serve`, each watched by one SSE subscriber (as a
 * UI would), turns posted over HTTP. The host's CPU time is read from `/proc/<hostPid>` around the
 * measured phase. Prints one JSON line.
 *
 *   bun load-generator.ts turns   <url> <hostPid> <provider> <model> <conversations> <turnsEach>
 *   bun load-generator.ts streams <url> <hostPid> <provider> <model> <conversations>
 *   bun load-generator.ts memory  <url> <hostPid> <provider> <model> <conversations>
 *
 * `turns`: each conversation takes one turn to warm up, then `turnsEach` turns one after another,
 * all conversations at once; a turn is timed from its POST to its final event on the stream.
 * `streams`: one turn per conversation, all at once, with a stamped model (see llm-stream-server.ts):
 * each chunk's delivery latency is the time its `text.delta` reached the subscriber minus the time
 * the model server sent it (the coalescing window included).
 * `memory`: the host's RSS idle, while every conversation's turn is in flight, and after they end;
 * then the same again on new conversations (a second burst: retention stays flat, a leak grows).
 */
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { sseMessages } from "@dispatch/transport-http/testing";
import { cpuDelta, cpuMark, cpuSince, rssBytes, threadCpuMs } from "./proc-cpu.ts";

const [mode, url, hostPidArg, provider, model, conversationsArg, turnsArg] = process.argv.slice(2);
if (url === undefined || provider === undefined || model === undefined || conversationsArg === undefined) {
  console.error("usage: load-generator.ts <turns|streams|memory> <url> <hostPid> <provider> <model> <n> [k]");
  process.exit(2);
}
const hostPid = Number(hostPidArg);
const conversationCount = Number(conversationsArg);
const turnsEach = Number(turnsArg ?? 1);
const finalTypes = new Set(["turn.completed", "turn.failed", "turn.cancelled", "turn.interrupted"]);
const stampPattern = /<t=(\d+\.\d+)>/g;

function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

async function postJson(path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (response.status >= 300)
    throw new Error(`POST ${path} answered ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

/** One conversation with its SSE subscriber. */
class Conversation {
  readonly #abort = new AbortController();
  readonly #waiters = new Map<string, (type: string) => void>();
  readonly #early = new Map<string, string>();
  #reading: Promise<void> = Promise.resolve();
  #lastSeq = 0;
  /** Delivery latency of each stamped chunk (ms). */
  readonly latencies: number[] = [];
  /** Turns whose first event after `turn.started` arrived (the model call is in flight). */
  readonly inFlight = new Set<string>();
  readonly finals: string[] = [];

  constructor(readonly id: string) {}

  static async create(): Promise<Conversation> {
    const created = await postJson("/workspaces/default/conversations", { provider, model });
    const conversation = new Conversation(String(created.id));
    const response = await fetch(`${url}/conversations/${conversation.id}/events`, {
      signal: conversation.#abort.signal,
    });
    if (response.status !== 200 || response.body === null) throw new Error(`SSE answered ${response.status}`);
    conversation.#reading = conversation.#read(response.body).catch((error: unknown) => {
      if (!conversation.#abort.signal.aborted) throw error;
    });
    return conversation;
  }

  /** Posts a message; resolves with the final event type of its turn. */
  async turn(): Promise<string> {
    const posted = await postJson(`/conversations/${this.id}/messages`, { text: "go" });
    const turnId = String(posted.turnId);
    const early = this.#early.get(turnId);
    if (early !== undefined) {
      this.#early.delete(turnId);
      return early;
    }
    return new Promise((resolve) => this.#waiters.set(turnId, resolve));
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#reading;
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    for await (const { data } of sseMessages(body)) {
      const now = wallNow();
      const event = JSON.parse(data) as {
        seq: number;
        type: string;
        turnId: string;
        data: { text?: string };
      };
      if (event.seq !== this.#lastSeq + 1) throw new Error(`seq ${event.seq} after ${this.#lastSeq}`);
      this.#lastSeq = event.seq;
      if (event.type === "text.delta" && event.data.text !== undefined) {
        for (const match of event.data.text.matchAll(stampPattern))
          this.latencies.push(now - Number(match[1]));
      }
      if (event.type === "step.started") this.inFlight.add(event.turnId);
      if (!finalTypes.has(event.type)) continue;
      this.inFlight.delete(event.turnId);
      this.finals.push(event.type);
      const waiter = this.#waiters.get(event.turnId);
      if (waiter === undefined) this.#early.set(event.turnId, event.type);
      else {
        this.#waiters.delete(event.turnId);
        waiter(event.type);
      }
    }
  }
}

async function conversations(n: number): Promise<Conversation[]> {
  const out: Conversation[] = [];
  // In batches: hundreds of connections opened at once would measure the accept queue.
  for (let i = 0; i < n; i += 32) {
    out.push(
      ...(await Promise.all(Array.from({ length: Math.min(32, n - i) }, () => Conversation.create()))),
    );
  }
  return out;
}

function expectCompleted(type: string): void {
  if (type !== "turn.completed") throw new Error(`a turn ended ${type}`);
}

/** Samples the host's RSS every `everyMs` until stopped; returns the largest. */
function rssSampler(everyMs: number): { stop(): number } {
  let peak = rssBytes(hostPid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssBytes(hostPid));
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssBytes(hostPid));
    },
  };
}

if (mode === "turns" || mode === "streams") {
  const all = await conversations(conversationCount);
  if (mode === "turns") {
    for (const type of await Promise.all(all.map((c) => c.turn()))) expectCompleted(type);
    for (const c of all) c.latencies.length = 0;
  }
  const rounds = mode === "turns" ? turnsEach : 1;
  const turnMs: number[] = [];
  const sampler = rssSampler(200);
  const threadsBefore = threadCpuMs(hostPid);
  const cpuBefore = cpuMark(hostPid);
  const began = performance.now();
  await Promise.all(
    all.map(async (conversation) => {
      for (let i = 0; i < rounds; i += 1) {
        const t0 = performance.now();
        expectCompleted(await conversation.turn());
        turnMs.push(performance.now() - t0);
      }
    }),
  );
  const wallMs = performance.now() - began;
  const hostCpuMs = cpuSince(cpuBefore);
  const hostThreadsMs = cpuDelta(threadsBefore, threadCpuMs(hostPid));
  const peakRss = sampler.stop();
  const latencies = all.flatMap((c) => c.latencies);
  await Promise.all(all.map((c) => c.close()));
  console.log(
    JSON.stringify({
      wallMs,
      hostCpuMs,
      hostThreadsMs,
      turnMs,
      latencies,
      chunks: latencies.length,
      peakRss,
    }),
  );
} else if (mode === "memory") {
  const settle = async () => {
    await Bun.sleep(3000);
    return rssBytes(hostPid);
  };
  // With SMAPS_DIR set, the host's memory map is kept at each reading (to see what stays after).
  const keepSmaps = (name: string) => {
    const dir = process.env.SMAPS_DIR;
    if (dir !== undefined) copyFileSync(`/proc/${hostPid}/smaps`, join(dir, `${name}.smaps`));
  };
  // idle as long as the readings after a burst (6 s), so both are taken in the same idle state
  await settle();
  const idleRss = await settle();
  keepSmaps("idle");
  /** One burst: every conversation's turn in flight at once, then all of them ended. */
  const burst = async (name: string) => {
    const all = await conversations(conversationCount);
    const withSubscribersRss = rssBytes(hostPid);
    const sampler = rssSampler(100);
    const turns = all.map((c) => c.turn());
    // In flight = every turn has had its slot granted and streams.
    while (all.some((c) => c.inFlight.size === 0 && c.finals.length === 0)) await Bun.sleep(20);
    const allInFlight = all.every((c) => c.inFlight.size === 1);
    const inFlightRss = rssBytes(hostPid);
    keepSmaps(`${name}-in-flight`);
    for (const type of await Promise.all(turns)) expectCompleted(type);
    const peakRss = sampler.stop();
    await Promise.all(all.map((c) => c.close()));
    const afterRss = await settle();
    const laterRss = await settle();
    keepSmaps(`${name}-after`);
    return { withSubscribersRss, inFlightRss, peakRss, afterRss, laterRss, allInFlight };
  };
  const first = await burst("first");
  // A second burst on new conversations: the RSS after it tells retention (flat) from a leak (growing).
  const second = await burst("second");
  console.log(
    JSON.stringify({ idleRss, ...first, secondPeakRss: second.peakRss, secondAfterRss: second.laterRss }),
  );
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
