import { afterEach, describe, expect, test } from "bun:test";
import { createConcurrencyManager, type PriorityConcurrencyManager } from "@dispatch/provider-concurrency";
import { providerConfigSchema } from "../src/config.ts";
import { createModelProvider } from "../src/create-model-provider.ts";
import { createProvidersService } from "../src/providers-service.ts";
import {
  type RecordedRequest,
  startOpenAITestServer,
  textScenario,
  type WireTestServer,
} from "../src/testing/index.ts";
import type { CallContext, ProvidersService, StreamPart } from "../src/types.ts";
import { ask, collect, errorOf, KEY_ENV, realKinds, TEST_KEY, within } from "./helpers.ts";

/** Every part every call yielded, in the order they were yielded, with waits on what is still to come. */
class EventLog {
  readonly entries: Array<{ who: string; part: StreamPart; at: number }> = [];
  #waiters: Array<{ match: (who: string, part: StreamPart) => boolean; resolve: () => void }> = [];

  push(who: string, part: StreamPart): void {
    this.entries.push({ who, part, at: Date.now() });
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(who, part)) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once an entry matches (already logged or still to come); bounded. */
  waitFor(what: string, match: (who: string, part: StreamPart) => boolean): Promise<void> {
    if (this.entries.some((e) => match(e.who, e.part))) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ match, resolve });
    return within(promise, 10_000, what);
  }

  /** Who got a slot, with the attempt, in grant order. */
  grants(): string[] {
    return this.entries.flatMap((e) =>
      e.part.type === "slot-granted" ? [`${e.who}#${e.part.attempt}`] : [],
    );
  }

  indexOf(who: string, match: (part: StreamPart) => boolean): number {
    return this.entries.findIndex((e) => e.who === who && match(e.part));
  }
}

const isGrant = (attempt: number) => (part: StreamPart) =>
  part.type === "slot-granted" && part.attempt === attempt;
const isQueued = (attempt: number) => (part: StreamPart) =>
  part.type === "waiting" && part.reason === "queue" && part.attempt === attempt;
const isRetryWait = (part: StreamPart) => part.type === "waiting" && part.reason === "retry";

/** The last user message's text in a recorded request of either wire format. */
function userText(request: RecordedRequest): string {
  const body = request.body as { messages?: Array<{ role: string; content: unknown }> };
  const last = [...(body.messages ?? [])].reverse().find((m) => m.role === "user");
  if (typeof last?.content === "string") return last.content;
  const parts = Array.isArray(last?.content) ? (last.content as Array<{ text?: string }>) : [];
  return parts.map((p) => p.text ?? "").join("");
}

function context(who: string, promptStartedAt: number, signal = new AbortController().signal): CallContext {
  return {
    signal,
    workspaceId: `ws-${who}`,
    conversationId: `conv-${who}`,
    turnId: `turn-${who}`,
    promptStartedAt,
  };
}

interface Rig {
  server: WireTestServer;
  manager: PriorityConcurrencyManager;
  service: ProvidersService;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) {
    rig.manager.dispose();
    await rig.server.stop();
  }
});

function rig(
  overrides: Record<string, unknown> = {},
  options: { start?: () => WireTestServer; kind?: string; random?: () => number } = {},
): Rig {
  const server = (options.start ?? startOpenAITestServer)();
  const manager = createConcurrencyManager({ watchdogIntervalMs: 10 });
  const config = providerConfigSchema.parse({
    id: "p1",
    kind: options.kind ?? "openai-compatible",
    baseURL: server.baseURL,
    apiKeyEnv: KEY_ENV,
    maxConcurrent: 1,
    backoff: { baseMs: 10, maxMs: 20 },
    ...overrides,
  });
  const service = createProvidersService({
    manager,
    providers: [{ settings: config, built: createModelProvider(config, { [KEY_ENV]: TEST_KEY }) }],
    random: options.random,
  });
  const made = { server, manager, service };
  rigs.push(made);
  return made;
}

async function run(
  service: ProvidersService,
  log: EventLog,
  who: string,
  promptStartedAt: number,
  signal?: AbortSignal,
): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of service.stream("p1", ask(who), context(who, promptStartedAt, signal))) {
    log.push(who, part);
    parts.push(part);
  }
  return parts;
}

for (const { kind, start } of realKinds) {
  test(`${kind}: a 429 with retry-after-ms is retried after the delay with the same call, then streams`, async () => {
    const { server, service } = rig({}, { start, kind });
    server.enqueue({ status: 429, headers: { "retry-after-ms": "30" } }, textScenario("done"));
    const parts = await collect(service.stream("p1", ask("hi"), context("a", 1000)));
    const visible = parts.filter((p) => !(p.type === "waiting" && p.reason === "queue"));
    expect(visible).toEqual([
      { type: "slot-granted", attempt: 1 },
      {
        type: "waiting",
        reason: "retry",
        attempt: 2,
        retryInMs: 30,
        message: expect.stringContaining("429") as unknown as string,
      },
      { type: "slot-granted", attempt: 2 },
      { type: "text-delta", text: "done" },
      { type: "usage", inputTokens: 10, outputTokens: 1 },
      { type: "finish", reason: "stop" },
    ]);
    expect(server.requests).toHaveLength(2);
  });
}

describe("retries and failures", () => {
  test("529 on every attempt ends after maxAttempts with what the provider last answered", async () => {
    const { server, service } = rig({ maxAttempts: 3 });
    server.setResponder(() => ({ status: 529, error: { type: "overloaded_error", message: "Overloaded" } }));
    const parts = await collect(service.stream("p1", ask("hi"), context("a", 1000)));
    const error = errorOf(parts);
    expect(error).toMatchObject({ code: "overloaded", status: 529, retryable: false });
    expect(error.message).toBe(
      'gave up after 3 attempts; last answer: provider "p1" answered 529 overloaded_error: Overloaded',
    );
    expect(server.requests).toHaveLength(3);
    expect(parts.filter(isRetryWait)).toHaveLength(2);
  });

  test("a 429 with a delay on the last attempt still pauses the provider for others", async () => {
    const { server, service, manager } = rig({ maxAttempts: 1 });
    server.setResponder(() => ({ status: 429, headers: { "retry-after-ms": "60000" } }));
    const error = errorOf(await collect(service.stream("p1", ask("hi"), context("a", 1000))));
    expect(error.message).toStartWith("gave up after 1 attempt; last answer: ");
    expect(manager.snapshot()[0]?.coolingUntil).toBeGreaterThan(Date.now() + 50_000);
  });

  test("401 is final at once: one request, a message naming the key variable", async () => {
    const { server, service } = rig();
    server.setResponder(() => ({ status: 401 }));
    const error = errorOf(await collect(service.stream("p1", ask("hi"), context("a", 1000))));
    expect(error.code).toBe("auth");
    expect(error.message).toContain(KEY_ENV);
    expect(server.requests).toHaveLength(1);
  });

  test("a quota-exhausted answer is final at once", async () => {
    const { server, service } = rig();
    server.setResponder(() => ({
      status: 429,
      error: {
        type: "insufficient_quota",
        code: "insufficient_quota",
        message: "You exceeded your current quota",
      },
    }));
    expect(errorOf(await collect(service.stream("p1", ask("hi"), context("a", 1000)))).code).toBe("quota");
    expect(server.requests).toHaveLength(1);
  });

  test("an overloaded error after the first token is not retried", async () => {
    const { server, service } = rig();
    server.setResponder(() => ({
      stream: [{ text: "Half an answer" }, { error: { type: "overloaded_error", message: "Overloaded" } }],
    }));
    const parts = await collect(service.stream("p1", ask("hi"), context("a", 1000)));
    expect(parts.some((p) => p.type === "text-delta")).toBe(true);
    expect(errorOf(parts)).toMatchObject({ code: "overloaded", retryable: false });
    expect(server.requests).toHaveLength(1);
  });

  test("a connection reset is a final stream_error and frees the slot", async () => {
    const { server, service, manager } = rig();
    server.setResponder(() => ({ stream: [{ text: "a" }, { reset: true }] }));
    expect(errorOf(await collect(service.stream("p1", ask("hi"), context("a", 1000)))).code).toBe(
      "stream_error",
    );
    expect(server.requests).toHaveLength(1);
    expect(manager.snapshot()[0]?.inFlight).toBe(0);
  });

  test("a stream silent for stallTimeoutMs is aborted, its slot released, and the call told why", async () => {
    const { server, service, manager } = rig({ stallTimeoutMs: 60 });
    server.enqueue({ stream: [{ text: "first" }, { hang: true }] });
    const parts = await collect(service.stream("p1", ask("hi"), context("a", 1000)));
    expect(parts[1]).toEqual({ type: "text-delta", text: "first" });
    const error = errorOf(parts);
    expect(error.code).toBe("stalled");
    expect(error.message).toContain("60 ms");
    expect(manager.snapshot()[0]?.inFlight).toBe(0);
    await within(server.requests[0]?.clientClosed ?? Promise.reject(new Error("no request")), 5000, "close");
  });

  test("a server that never sends headers stalls the same way", async () => {
    const { server, service, manager } = rig({ stallTimeoutMs: 60 });
    server.enqueue({ hangBeforeHeaders: true });
    expect(errorOf(await collect(service.stream("p1", ask("hi"), context("a", 1000)))).code).toBe("stalled");
    expect(manager.snapshot()[0]?.inFlight).toBe(0);
    expect(server.requests).toHaveLength(1);
  });

  test("abort during a backoff ends the call at once, without another request", async () => {
    const { server, service } = rig(
      { maxAttempts: 2, backoff: { baseMs: 20_000, maxMs: 20_000 } },
      { random: () => 0.99 },
    );
    server.setResponder(() => ({ status: 503 }));
    const controller = new AbortController();
    const log = new EventLog();
    const done = run(service, log, "a", 1000, controller.signal);
    await log.waitFor("the retry wait", (_, p) => isRetryWait(p));
    controller.abort();
    expect(errorOf(await within(done, 5000, "the aborted call")).code).toBe("aborted");
    expect(server.requests).toHaveLength(1);
  });

  test("abort while queued removes the waiter and ends the call", async () => {
    const { server, service, manager } = rig();
    const gate = Promise.withResolvers<void>();
    server.setResponder((req) =>
      userText(req) === "holder"
        ? { stream: [{ gate: gate.promise }, { text: "ok" }] }
        : textScenario("never"),
    );
    const log = new EventLog();
    const holder = run(service, log, "holder", 1000);
    await log.waitFor("holder's grant", (who, p) => who === "holder" && p.type === "slot-granted");
    const controller = new AbortController();
    const queued = run(service, log, "queued", 2000, controller.signal);
    await log.waitFor("queued to wait", (who, p) => who === "queued" && isQueued(1)(p));
    expect(manager.snapshot()[0]?.queue.map((w) => w.turnId)).toEqual(["turn-queued"]);
    controller.abort();
    expect(errorOf(await within(queued, 5000, "the aborted waiter")).code).toBe("aborted");
    expect(manager.snapshot()[0]?.queue).toEqual([]);
    gate.resolve();
    await holder;
    expect(server.requests.map(userText)).toEqual(["holder"]);
  });

  test("an already-aborted call makes no request and holds no slot", async () => {
    const { server, service, manager } = rig();
    const controller = new AbortController();
    controller.abort();
    const parts = await collect(service.stream("p1", ask("hi"), context("a", 1000, controller.signal)));
    expect(parts).toHaveLength(1);
    expect(errorOf(parts).code).toBe("aborted");
    expect(server.requests).toHaveLength(0);
    expect(manager.snapshot()[0]).toMatchObject({ inFlight: 0, queue: [] });
  });

  test("a consumer that stops early releases the slot and closes the connection", async () => {
    const { server, service, manager } = rig();
    server.enqueue({ stream: [{ text: "one" }, { hang: true }] });
    for await (const part of service.stream("p1", ask("hi"), context("a", 1000))) {
      if (part.type === "text-delta") break;
    }
    expect(manager.snapshot()[0]?.inFlight).toBe(0);
    await within(server.requests[0]?.clientClosed ?? Promise.reject(new Error("no request")), 5000, "close");
  });

  test("a provider whose key is missing is unavailable and a call says which variable to set", async () => {
    const server = startOpenAITestServer();
    const manager = createConcurrencyManager({ watchdogIntervalMs: 10 });
    rigs.push({ server, manager, service: undefined as never });
    const config = providerConfigSchema.parse({ id: "p1", kind: "anthropic", apiKeyEnv: KEY_ENV });
    const service = createProvidersService({
      manager,
      providers: [{ settings: config, built: createModelProvider(config, {}) }],
    });
    expect(service.get("p1")).toMatchObject({
      status: "unavailable",
      reason: `set the environment variable ${KEY_ENV}`,
    });
    const error = errorOf(await collect(service.stream("p1", ask("hi"), context("a", 1000))));
    expect(error.code).toBe("missing_key");
    expect(error.message).toContain(`set the environment variable ${KEY_ENV}`);
    const unknown = errorOf(await collect(service.stream("nope", ask("hi"), context("a", 1000))));
    expect(unknown.code).toBe("unknown_provider");
    expect(unknown.message).toContain("p1");
  });
});

describe("retries and the queue", () => {
  test("a 503 backoff frees the slot for another waiter, then regains its place ahead of younger waiters", async () => {
    const { server, service } = rig({ maxConcurrent: 1 });
    const failA = Promise.withResolvers<void>();
    const holdB = Promise.withResolvers<void>();
    let callsA = 0;
    server.setResponder((req) => {
      const who = userText(req);
      if (who === "A") {
        callsA += 1;
        return callsA === 1 ? { status: 503, after: failA.promise } : textScenario("A done");
      }
      if (who === "B") return { stream: [{ gate: holdB.promise }, { text: "B done" }] };
      return textScenario(`${who} done`);
    });
    const log = new EventLog();
    const runA = run(service, log, "A", 1000);
    await log.waitFor("A's first grant", (who, p) => who === "A" && isGrant(1)(p));
    await server.waitForRequest(0);
    const runB = run(service, log, "B", 2000);
    await log.waitFor("B queued", (who, p) => who === "B" && isQueued(1)(p));
    const runC = run(service, log, "C", 3000);
    await log.waitFor("C queued", (who, p) => who === "C" && isQueued(1)(p));

    failA.resolve();
    await log.waitFor("B granted while A backs off", (who, p) => who === "B" && isGrant(1)(p));
    await log.waitFor("A queued again", (who, p) => who === "A" && isQueued(2)(p));
    holdB.resolve();
    const [partsA, partsB, partsC] = await within(Promise.all([runA, runB, runC]), 10_000, "all three calls");

    // With one slot, B could only start once A gave its slot up; it did so before A's retry got one…
    expect(log.indexOf("B", isGrant(1))).toBeLessThan(log.indexOf("A", isGrant(2)));
    expect(log.indexOf("A", isRetryWait)).toBeLessThan(log.indexOf("A", isGrant(2)));
    // …and A, older than C, was served before C although C had queued first.
    expect(log.indexOf("C", isQueued(1))).toBeLessThan(log.indexOf("A", isQueued(2)));
    expect(log.grants()).toEqual(["A#1", "B#1", "A#2", "C#1"]);
    for (const parts of [partsA, partsB, partsC])
      expect(parts.at(-1)).toEqual({ type: "finish", reason: "stop" });
  });

  test("a 503 backoff does not pause the provider for others", async () => {
    const { server, service, manager } = rig({ maxConcurrent: 2 });
    let calls = 0;
    server.setResponder(() => (++calls === 1 ? { status: 503 } : textScenario("ok")));
    const log = new EventLog();
    const runA = run(service, log, "A", 1000);
    await log.waitFor("A's retry wait", (who, p) => who === "A" && isRetryWait(p));
    expect(manager.snapshot()[0]?.coolingUntil).toBeNull();
    await runA;
  });

  test("a 429 with a provider-given delay pauses grants for the whole provider until it has passed", async () => {
    const { server, service, manager } = rig({ maxConcurrent: 2 });
    let callsA = 0;
    server.setResponder((req) => {
      const who = userText(req);
      if (who === "A" && ++callsA === 1) return { status: 429, headers: { "retry-after-ms": "150" } };
      return textScenario(`${who} done`);
    });
    const log = new EventLog();
    const runA = run(service, log, "A", 1000);
    await log.waitFor("A's retry wait", (who, p) => who === "A" && isRetryWait(p));
    const cooling = manager.snapshot()[0]?.coolingUntil;
    expect(cooling).toBeNumber();

    // B is a fresh call and a slot is free, yet it must wait for the pause.
    const runB = run(service, log, "B", 500);
    await log.waitFor("B queued behind the pause", (who, p) => who === "B" && isQueued(1)(p));
    const paused = manager.snapshot()[0];
    expect(paused?.inFlight).toBe(0);
    expect(paused?.queue.map((w) => w.turnId)).toContain("turn-B");

    const [partsA, partsB] = await within(Promise.all([runA, runB]), 10_000, "both calls");
    const grantB = log.entries.find((e) => e.who === "B" && e.part.type === "slot-granted");
    expect(grantB?.at).toBeGreaterThanOrEqual(cooling ?? Number.POSITIVE_INFINITY);
    expect(partsA.at(-1)).toEqual({ type: "finish", reason: "stop" });
    expect(partsB.at(-1)).toEqual({ type: "finish", reason: "stop" });
    expect(manager.snapshot()[0]?.coolingUntil).toBeNull();
  });

  test("a Retry-After over maxRetryAfterMs fails the call at once and pauses the provider only up to the cap", async () => {
    const { server, service, manager } = rig({ maxConcurrent: 2, maxRetryAfterMs: 200 });
    let calls = 0;
    server.setResponder(() => {
      calls++;
      return { status: 429, headers: { "retry-after": "3600" } };
    });
    const started = Date.now();
    const parts = await within(
      collect(service.stream("p1", ask("A"), context("A", 1000))),
      5_000,
      "the call",
    );
    const error = errorOf(parts);
    expect(error).toMatchObject({ code: "rate_limited", retryable: false, retryAfterMs: 3_600_000 });
    expect(error.message).toContain("the provider asked to wait 3600 s, more than maxRetryAfterMs (0.2 s)");
    expect(error.message).toContain("gave up after 1 attempt");
    expect(calls).toBe(1);
    expect(parts.some((p) => p.type === "waiting" && p.reason === "retry")).toBe(false);
    const cooling = manager.snapshot()[0]?.coolingUntil ?? 0;
    expect(cooling).toBeGreaterThan(started);
    expect(cooling).toBeLessThanOrEqual(Date.now() + 200);
  });

  test("a 529 with Retry-After pauses the provider too", async () => {
    const { server, service, manager } = rig({ maxConcurrent: 2 });
    let calls = 0;
    server.setResponder(() =>
      ++calls === 1 ? { status: 529, headers: { "retry-after-ms": "100" } } : textScenario("ok"),
    );
    const log = new EventLog();
    const runA = run(service, log, "A", 1000);
    await log.waitFor("A's retry wait", (who, p) => who === "A" && isRetryWait(p));
    expect(manager.snapshot()[0]?.coolingUntil).toBeNumber();
    expect((await runA).at(-1)).toEqual({ type: "finish", reason: "stop" });
  });
});
