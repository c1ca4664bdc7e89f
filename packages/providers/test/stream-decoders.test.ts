import { afterEach, describe, expect, test } from "bun:test";
import { providerConfigSchema } from "../src/config.ts";
import { createModelProvider } from "../src/create-model-provider.ts";
import { SseParser } from "../src/sse-parser.ts";
import {
  anthropicWire,
  openaiWire,
  type Scenario,
  startWireTestServer,
  type WireTestServer,
} from "../src/testing/index.ts";
import type { ModelProvider, StreamPart } from "../src/types.ts";
import { ask, collect, KEY_ENV, TEST_KEY } from "./helpers.ts";

/**
 * Our stream decoders (issue 25) against the AI SDK's own decoding: the same answer, served over
 * loopback, read by a provider with `streamDecoder: "sdk"` and one with `"dispatch"`, must give the
 * same parts. Errors are compared by code, status and retryability (the SDK's wording of a broken
 * stream is its own).
 */

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

type Kind = "anthropic" | "openai-compatible";

function provider(kind: Kind, baseURL: string, streamDecoder: "sdk" | "dispatch"): ModelProvider {
  const config = providerConfigSchema.parse({ id: "p1", kind, baseURL, apiKeyEnv: KEY_ENV, streamDecoder });
  const built = createModelProvider(config, { [KEY_ENV]: TEST_KEY });
  if (built.status !== "available") throw new Error(built.reason);
  return built.provider;
}

/** What a comparison looks at: parts, with errors reduced to what callers act on. */
function comparable(parts: StreamPart[]): unknown[] {
  return parts.map((part) =>
    part.type === "error"
      ? { type: "error", code: part.error.code, status: part.error.status, retryable: part.error.retryable }
      : part,
  );
}

async function both(kind: Kind, baseURL: string): Promise<{ sdk: StreamPart[]; dispatch: StreamPart[] }> {
  const sdk = await collect(provider(kind, baseURL, "sdk").stream(ask("go"), new AbortController().signal));
  const dispatch = await collect(
    provider(kind, baseURL, "dispatch").stream(ask("go"), new AbortController().signal),
  );
  return { sdk, dispatch };
}

/** A loopback server answering every request with these SSE pieces, each written separately. */
function rawServer(pieces: readonly string[]): string {
  const encoder = new TextEncoder();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      await req.text();
      const stream = new ReadableStream<Uint8Array>({
        async start(controller) {
          for (const piece of pieces) {
            controller.enqueue(encoder.encode(piece));
            await Bun.sleep(1);
          }
          controller.close();
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream" } });
    },
  });
  stops.push(async () => {
    await server.stop(true);
  });
  return `http://127.0.0.1:${server.port}/v1`;
}

function scenarioServer(kind: Kind, scenario: Scenario): string {
  const server: WireTestServer = startWireTestServer(kind === "anthropic" ? anthropicWire : openaiWire);
  server.setResponder(() => scenario);
  stops.push(() => server.stop());
  return server.baseURL;
}

const scenarios: Array<[string, Scenario]> = [
  [
    "text in pieces with usage",
    { stream: [{ text: "Hello " }, { text: "there" }], usage: { input: 9, output: 4 } },
  ],
  ["no text at all", { stream: [] }],
  ["a tool call", { stream: [{ tool: { id: "c1", name: "read_file", args: '{"path":"a"}', pieces: 3 } }] }],
  [
    "text, then two tool calls",
    {
      stream: [
        { text: "Looking." },
        { tool: { id: "c1", name: "list_dir", args: '{"path":"."}', pieces: 2 } },
        { tool: { id: "c2", name: "grep", args: '{"pattern":"x"}', pieces: 4 } },
      ],
    },
  ],
  ["a tool call with no arguments", { stream: [{ tool: { id: "c3", name: "now", args: "" } }] }],
  ["arguments that are not JSON", { stream: [{ tool: { id: "c4", name: "w", args: '{"a": ', pieces: 2 } }] }],
  ["an error before any text", { stream: [{ error: { type: "overloaded_error", message: "Overloaded" } }] }],
  ["an error after text", { stream: [{ text: "half" }, { error: { type: "api_error", message: "boom" } }] }],
  ["a rate limit error event", { stream: [{ error: { type: "rate_limit_error", message: "slow down" } }] }],
  ["a reset after text", { stream: [{ text: "half" }, { reset: true }] }],
  ["finish by length", { stream: [{ text: "cut" }], finish: "length" }],
];

for (const kind of ["anthropic", "openai-compatible"] as const) {
  describe(`${kind}: the dispatch decoder reads what the SDK reads`, () => {
    for (const [name, scenario] of scenarios) {
      test(name, async () => {
        const { sdk, dispatch } = await both(kind, scenarioServer(kind, scenario));
        expect(comparable(dispatch)).toEqual(comparable(sdk));
      });
    }
  });
}

const chunk = (
  delta: Record<string, unknown>,
  finish: string | null = null,
  extra: Record<string, unknown> = {},
) =>
  `data: ${JSON.stringify({ id: "x", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`;

const openaiRaw: Array<[string, string[]]> = [
  [
    "cached prompt tokens, CRLF line ends and events split across reads",
    [
      chunk({ role: "assistant", content: "" }).replaceAll("\n", "\r\n"),
      chunk({ content: "Hel" }).slice(0, 20),
      chunk({ content: "Hel" }).slice(20),
      chunk({}, "stop"),
      `data: ${JSON.stringify({ id: "x", choices: [], usage: { prompt_tokens: 30, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 24 } } })}\n\n`,
      "data: [DONE]\n\n",
    ],
  ],
  [
    "content as parts, a refusal, comments",
    [
      ": keep-alive\n\n",
      chunk({ content: [{ type: "text", text: "part one " }, { type: "image_url" }] }),
      chunk({ refusal: "I cannot." }),
      chunk({}, "stop"),
      "data: [DONE]\n\n",
    ],
  ],
  [
    "a tool call whose name comes after its arguments, and one without an index",
    [
      chunk({ tool_calls: [{ index: 0, id: "call_1", function: { arguments: '{"pa' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { name: "read_file", arguments: 'th":"a"}' } }] }),
      chunk({ tool_calls: [{ id: "call_2", function: { name: "list_dir", arguments: "{}" } }] }),
      chunk({}, "tool_calls"),
      "data: [DONE]\n\n",
    ],
  ],
  ["a stream that ends without a finish reason", [chunk({ content: "never done" })]],
  ["a chunk that is not JSON", [chunk({ content: "a" }), "data: {not json\n\n", chunk({}, "stop")]],
  [
    "an error chunk",
    [
      chunk({ content: "a" }),
      `data: ${JSON.stringify({ error: { message: "quota", type: "insufficient_quota" } })}\n\n`,
    ],
  ],
  ["a chunk without choices", [`data: ${JSON.stringify({ id: "x" })}\n\n`, chunk({}, "stop")]],
];

const anthropicEvent = (type: string, data: Record<string, unknown>) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const messageStart = (usage: Record<string, unknown> = { input_tokens: 5, output_tokens: 1 }) =>
  anthropicEvent("message_start", {
    message: { id: "msg_1", type: "message", role: "assistant", model: "m", content: [], usage },
  });

const anthropicRaw: Array<[string, string[]]> = [
  [
    "cache tokens, pings and a thinking block",
    [
      messageStart({
        input_tokens: 5,
        output_tokens: 1,
        cache_read_input_tokens: 40,
        cache_creation_input_tokens: 7,
      }),
      anthropicEvent("ping", {}),
      anthropicEvent("content_block_start", { index: 0, content_block: { type: "thinking", thinking: "" } }),
      anthropicEvent("content_block_delta", { index: 0, delta: { type: "thinking_delta", thinking: "hmm" } }),
      anthropicEvent("content_block_stop", { index: 0 }),
      anthropicEvent("content_block_start", { index: 1, content_block: { type: "text", text: "" } }),
      anthropicEvent("content_block_delta", { index: 1, delta: { type: "text_delta", text: "Answer." } }),
      anthropicEvent("content_block_stop", { index: 1 }),
      anthropicEvent("message_delta", {
        delta: { stop_reason: "end_turn", stop_sequence: null },
        usage: { output_tokens: 9 },
      }),
      anthropicEvent("message_stop", {}),
    ],
  ],
  [
    "a stream cut after text without message_stop (interrupted)",
    [
      messageStart(),
      anthropicEvent("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
      anthropicEvent("content_block_delta", { index: 0, delta: { type: "text_delta", text: "half" } }),
    ],
  ],
  [
    "a tool call with its input in the block start",
    [
      messageStart(),
      anthropicEvent("content_block_start", {
        index: 0,
        content_block: { type: "tool_use", id: "toolu_1", name: "read_file", input: { path: "a" } },
      }),
      anthropicEvent("content_block_stop", { index: 0 }),
      anthropicEvent("message_delta", { delta: { stop_reason: "tool_use" }, usage: { output_tokens: 3 } }),
      anthropicEvent("message_stop", {}),
    ],
  ],
  [
    "an error as the very first event",
    [anthropicEvent("error", { error: { type: "overloaded_error", message: "Overloaded" } })],
  ],
  ["an unknown event type", [messageStart(), anthropicEvent("content_block_surprise", { index: 0 })]],
];

describe("raw event streams: the dispatch decoder reads what the SDK reads", () => {
  for (const [name, pieces] of openaiRaw) {
    test(`openai-compatible: ${name}`, async () => {
      const { sdk, dispatch } = await both("openai-compatible", rawServer(pieces));
      expect(comparable(dispatch)).toEqual(comparable(sdk));
    });
  }
  for (const [name, pieces] of anthropicRaw) {
    test(`anthropic: ${name}`, async () => {
      const { sdk, dispatch } = await both("anthropic", rawServer(pieces));
      expect(comparable(dispatch)).toEqual(comparable(sdk));
    });
  }
});

describe("SseParser", () => {
  const encoder = new TextEncoder();
  const parse = (...pieces: string[]) => {
    const parser = new SseParser();
    const events = pieces.flatMap((piece) => parser.push(encoder.encode(piece)));
    return [...events, ...parser.end()];
  };

  test("LF, CRLF and CR line ends, split anywhere, even between CR and LF", () => {
    expect(parse("data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\r", "\n\r", "\n")).toEqual([
      { event: undefined, data: "a" },
      { event: undefined, data: "b" },
      { event: undefined, data: "c" },
      { event: undefined, data: "d" },
    ]);
  });

  test("multi-line data joins with LF; event names, comments, ids and a missing space after the colon", () => {
    expect(parse("event: delta\ndata: one\ndata:two\nid: 7\n: a comment\n\n")).toEqual([
      { event: "delta", data: "one\ntwo" },
    ]);
  });

  test("an event with no data is not dispatched, nor one cut off by the end of the stream", () => {
    expect(parse("event: ping\n\n", "data: cut off")).toEqual([]);
  });

  test("a multi-byte character split between two reads arrives whole", () => {
    const bytes = encoder.encode("data: é€\n\n");
    const parser = new SseParser();
    const events = [...parser.push(bytes.subarray(0, 7)), ...parser.push(bytes.subarray(7))];
    expect(events).toEqual([{ event: undefined, data: "é€" }]);
  });
});
