/**
 * CPU per streamed chunk of each layer of the provider path, in this process, with no network: the
 * same SSE bytes (a chat-completions or Messages stream of N text chunks, as the wire test servers
 * write them) handed to each reader by an in-memory `fetch`.
 *
 *   bun packages/providers/bench/chunk-cost.ts [--chunks 2000] [--rounds 7] [--wire openai|anthropic]
 *       [--only READER]
 *
 * Readers, from the floor up:
 * - bare: TextDecoder, split on blank lines, `JSON.parse` of each `data:` line (what the hot-path
 *   benchmark's bare clients do);
 * - sdk doStream: the AI SDK language model's `doStream`, read to the end (one model per call, as
 *   before issue 25, and one model kept for every call);
 * - provider: our `ModelProvider.stream` over the SDK (the part mapping on top), reading the SDK's
 *   own stream (`streamDecoder: "sdk"`) or decoding the body itself (`"dispatch"`, the default);
 * - service stream / call: `ProvidersService.stream` and `.call` (slot, retries, the model-call
 *   loop) over the dispatch one; a turn uses `call`, which pushes parts into a sink.
 *
 * Figures are CPU µs per chunk (process.cpuUsage over the round), median of the rounds; readers
 * alternate within each round.
 */
import { parseArgs } from "node:util";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModelV4 } from "@ai-sdk/provider";
import { median } from "@dispatch/bench-kit";
import { createConcurrencyManager } from "@dispatch/provider-concurrency";
import { anthropicMessagesDecoder } from "../src/anthropic-messages-decoder.ts";
import { openAIChatDecoder } from "../src/openai-chat-decoder.ts";
import { createProvidersService } from "../src/providers-service.ts";
import { createSdkProvider } from "../src/sdk-provider.ts";
import { interceptEventStreams } from "../src/stream-intercept.ts";
import { anthropicWire, openaiWire } from "../src/testing/index.ts";
import { toCallOptions } from "../src/to-call-options.ts";
import type { ModelRequest, StreamPart } from "../src/types.ts";

const { values } = parseArgs({
  options: {
    chunks: { type: "string", default: "2000" },
    rounds: { type: "string", default: "7" },
    wire: { type: "string", default: "openai" },
    /** Runs only the readers whose name contains this (for instruction counts under callgrind). */
    only: { type: "string" },
  },
});
const chunks = Number(values.chunks);
const rounds = Number(values.rounds);
const wire = values.wire === "anthropic" ? anthropicWire : openaiWire;

const encoder = new TextEncoder();
/** One network read per SSE event, as a loopback server streaming with pauses delivers them. */
function body(): Uint8Array[] {
  const enc = wire.createEncoder("m");
  const events = [...enc.start()];
  for (let i = 0; i < chunks; i += 1) events.push(...enc.text(`word${i} `));
  events.push(...enc.finish("stop", { input: 10, output: chunks }));
  return events.map((event) => encoder.encode(event));
}
const pieces = body();
const fakeFetch = (async () =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const piece of pieces) controller.enqueue(piece);
        controller.close();
      },
    }),
    { headers: { "content-type": "text/event-stream" } },
  )) as unknown as typeof fetch;

function languageModel(fetchImpl: typeof fetch = fakeFetch): LanguageModelV4 {
  if (wire === anthropicWire) {
    return createAnthropic({ apiKey: "k", baseURL: "http://127.0.0.1:9/v1", fetch: fetchImpl }).languageModel(
      "m",
    );
  }
  return createOpenAICompatible({
    name: "bench",
    baseURL: "http://127.0.0.1:9/v1",
    includeUsage: true,
    fetch: fetchImpl,
  }).chatModel("m");
}

const request: ModelRequest = { model: "m", messages: [{ role: "user", content: "go" }], tools: [] };
const kept = languageModel();
const sdkProvider = createSdkProvider({
  kind: "openai-compatible",
  providerId: "bench",
  secrets: [],
  models: ["m"],
  languageModel: () => kept,
});
const intercepting = languageModel(interceptEventStreams(fakeFetch));
const provider = createSdkProvider({
  kind: "openai-compatible",
  providerId: "bench",
  secrets: [],
  models: ["m"],
  languageModel: () => intercepting,
  decoder: wire === anthropicWire ? anthropicMessagesDecoder : openAIChatDecoder,
});
const manager = createConcurrencyManager();
const service = createProvidersService({
  manager,
  providers: [
    {
      settings: {
        id: "bench",
        kind: "openai-compatible",
        models: ["m"],
        maxConcurrent: 4,
        maxAttempts: 1,
        stallTimeoutMs: 60_000,
        maxRetryAfterMs: 60_000,
        backoff: { baseMs: 1, maxMs: 1 },
      },
      built: { status: "available", provider },
    },
  ],
});

async function bare(): Promise<number> {
  const response = await fakeFetch("x");
  const decoder = new TextDecoder();
  let buffer = "";
  let n = 0;
  for await (const piece of response.body as ReadableStream<Uint8Array>) {
    buffer += decoder.decode(piece, { stream: true });
    let cut = buffer.indexOf("\n\n");
    while (cut >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      cut = buffer.indexOf("\n\n");
      const at = block.indexOf("data: ");
      if (at < 0) continue;
      const data = block.slice(at + 6);
      if (data !== "[DONE]" && JSON.parse(data) !== null) n += 1;
    }
  }
  return n;
}

async function sdk(model: LanguageModelV4): Promise<number> {
  const { stream } = await model.doStream(toCallOptions(request, new AbortController().signal));
  let n = 0;
  for await (const _ of stream) n += 1;
  return n;
}

async function drain(parts: AsyncIterable<StreamPart>): Promise<number> {
  let n = 0;
  for await (const part of parts) {
    if (part.type === "error") throw new Error(part.error.message);
    n += 1;
  }
  return n;
}

const allReaders: Record<string, () => Promise<number>> = {
  bare,
  "sdk doStream, new model per call": () => sdk(languageModel()),
  "sdk doStream, model kept": () => sdk(kept),
  "provider, sdk decoder": () => drain(sdkProvider.stream(request, new AbortController().signal)),
  "provider, dispatch decoder": () => drain(provider.stream(request, new AbortController().signal)),
  "service stream": () => drain(service.stream("bench", request, callContext())),
  "service call (sink)": async () => {
    let n = 0;
    await service.call("bench", request, callContext(), (part) => {
      if (part.type === "error") throw new Error(part.error.message);
      n += 1;
    });
    return n;
  },
};

function callContext() {
  return {
    signal: new AbortController().signal,
    workspaceId: "w",
    conversationId: "c",
    turnId: "t",
    promptStartedAt: Date.now(),
  };
}

const readers = Object.fromEntries(
  Object.entries(allReaders).filter(([name]) => name === "bare" || name.includes(values.only ?? "")),
);

function cpuUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

const samples = new Map<string, number[]>(Object.keys(readers).map((name) => [name, []]));
for (const read of Object.values(readers)) await read(); // warm-up
for (let round = 0; round < rounds; round += 1) {
  for (const [name, read] of Object.entries(readers)) {
    const before = cpuUs();
    await read();
    samples.get(name)?.push((cpuUs() - before) / chunks);
  }
}
const floor = median(samples.get("bare") ?? []);
console.log(`${wire.name}: ${chunks} text chunks, CPU µs per chunk, median of ${rounds} rounds`);
console.table(
  [...samples.entries()].map(([reader, values]) => ({
    reader,
    "µs/chunk": Number(median(values).toFixed(2)),
    "× bare": Number((median(values) / floor).toFixed(2)),
  })),
);
manager.dispose();
