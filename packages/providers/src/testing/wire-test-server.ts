import { splitText } from "../split-text.ts";
import { anthropicWire } from "./anthropic-wire.ts";
import { openaiWire } from "./openai-wire.ts";
import type { Scenario, ScenarioStep } from "./scenario.ts";
import type { StreamEncoder, WireFormat } from "./wire-format.ts";

/** One request the server received. */
export interface RecordedRequest {
  readonly index: number;
  readonly method: string;
  readonly path: string;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body (or the raw text when it is not JSON). */
  readonly body: unknown;
  /** Settles when the client closed the connection before the server finished its answer. */
  readonly clientClosed: Promise<void>;
  /** True once the client closed the connection before the server finished its answer. */
  readonly didClientClose: boolean;
}

/** A local HTTP server that speaks one provider's streaming wire format, one scenario per request. */
export interface WireTestServer {
  /** What to give the provider as `baseURL` (e.g. `http://127.0.0.1:41234/v1`). */
  readonly baseURL: string;
  readonly port: number;
  readonly requests: readonly RecordedRequest[];
  /** Queues answers; each request takes the next one. */
  enqueue(...scenarios: Scenario[]): void;
  /** Decides the answer when the queue is empty (default: a 500 saying that no scenario was queued). */
  setResponder(responder: (request: RecordedRequest) => Scenario): void;
  /** Resolves with the request of that index once it has arrived. */
  waitForRequest(index: number): Promise<RecordedRequest>;
  /** Requests being answered right now (from arrival until the answer is complete or the client left). */
  readonly inFlight: number;
  /** The most requests that were ever being answered at once. */
  readonly maxInFlight: number;
  /** Closes every connection (ending hanging answers) and stops listening. */
  stop(): Promise<void>;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves after `ms`, or earlier when `until` settles; the timer never outlives the wait. */
async function sleepUnless(ms: number, until: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([new Promise<void>((r) => (timer = setTimeout(r, ms))), until]);
  clearTimeout(timer);
}

/** Starts a test server for `format` on 127.0.0.1, on a free port. */
export function startWireTestServer(format: WireFormat): WireTestServer {
  const queue: Scenario[] = [];
  const requests: RecordedRequest[] = [];
  const arrivals = new Map<number, Deferred>();
  const stopped = deferred();
  let responder: ((request: RecordedRequest) => Scenario) | undefined;
  const encoder = new TextEncoder();
  let inFlight = 0;
  let maxInFlight = 0;
  /** Counts one answer in; the function it returns counts it out, once. */
  const answering = (): (() => void) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let counted = true;
    return () => {
      if (!counted) return;
      counted = false;
      inFlight -= 1;
    };
  };

  const arrival = (index: number): Deferred => {
    let d = arrivals.get(index);
    if (!d) {
      d = deferred();
      arrivals.set(index, d);
    }
    return d;
  };

  async function play(
    scenario: Extract<Scenario, { stream: ScenarioStep[] }>,
    model: string,
    controller: ReadableStreamDefaultController<Uint8Array>,
    gone: Promise<void>,
    isGone: () => boolean,
    finished: () => void,
  ): Promise<void> {
    const enc: StreamEncoder = format.createEncoder(model);
    const send = (events: string[]) => {
      for (const event of events) controller.enqueue(encoder.encode(event));
    };
    let sawTool = false;
    let toolCount = 0;
    send(enc.start());
    for (const step of scenario.stream) {
      if (isGone()) return;
      if ("text" in step) send(enc.text(step.text));
      else if ("tool" in step) {
        sawTool = true;
        toolCount += 1;
        send(enc.toolStart(step.tool.id ?? `call_test_${toolCount}`, step.tool.name));
        for (const piece of splitText(step.tool.args, step.tool.pieces ?? 1)) {
          if (piece !== "") send(enc.toolArgs(piece));
        }
      } else if ("delayMs" in step) await sleepUnless(step.delayMs, gone);
      else if ("gate" in step) await Promise.race([step.gate.then(() => {}), gone]);
      else if ("error" in step) {
        send(enc.error(step.error));
        finished();
        controller.close();
        return;
      } else if ("hang" in step) {
        await gone;
        return;
      } else if ("reset" in step) {
        finished();
        // Erroring the body with no reason makes Bun drop the connection without a final chunk
        // (the client sees ECONNRESET) and, unlike an Error, prints nothing to stderr.
        controller.error(undefined);
        return;
      }
    }
    if (isGone()) return;
    const usage = scenario.usage ?? { input: 10, output: 0 };
    send(enc.finish(scenario.finish ?? (sawTool ? "tool-calls" : "stop"), usage));
    finished();
    controller.close();
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    // A hanging answer must not be cut by the server's own idle timeout (0 = none).
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const text = await req.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: keep the raw text for the test to look at.
      }
      const headers: Record<string, string> = {};
      req.headers.forEach((value, key) => {
        headers[key.toLowerCase()] = value;
      });
      const closed = deferred();
      let serverDone = false;
      let clientClosed = false;
      const onAbort = () => {
        if (serverDone) return;
        clientClosed = true;
        closed.resolve();
      };
      if (req.signal.aborted) onAbort();
      else req.signal.addEventListener("abort", onAbort, { once: true });
      const record: RecordedRequest = {
        index: requests.length,
        method: req.method,
        path: url.pathname,
        headers,
        body,
        clientClosed: closed.promise,
        get didClientClose() {
          return clientClosed;
        },
      };
      requests.push(record);
      arrival(record.index).resolve();

      if (!format.matches(url.pathname)) {
        serverDone = true;
        return Response.json(format.errorBody(404, { type: "not_found_error", message: "no such path" }), {
          status: 404,
        });
      }
      const scenario: Scenario = queue.shift() ??
        responder?.(record) ?? {
          status: 500,
          error: {
            type: "api_error",
            message: `test server: no scenario queued for request ${record.index}`,
          },
        };
      const gone = Promise.race([closed.promise, stopped.promise]);
      const answered = answering();

      if ("hangBeforeHeaders" in scenario) {
        await gone;
        answered();
        return new Response(null, { status: 499 });
      }
      if ("status" in scenario) {
        if (scenario.after) await Promise.race([scenario.after, gone]);
        serverDone = true;
        answered();
        const payload = scenario.rawBody ?? JSON.stringify(format.errorBody(scenario.status, scenario.error));
        return new Response(payload, {
          status: scenario.status,
          headers: { "content-type": "application/json", ...scenario.headers },
        });
      }
      const model = typeof body === "object" && body && "model" in body ? String(body.model) : "test-model";
      let cancelled = false;
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          void play(
            scenario,
            model,
            controller,
            gone,
            () => cancelled || clientClosed,
            () => {
              serverDone = true;
              answered();
            },
          )
            .catch(() => {
              // The client went away while we were writing; nothing left to answer.
            })
            .finally(answered);
        },
        cancel() {
          cancelled = true;
          onAbort();
          answered();
        },
      });
      return new Response(stream, {
        headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
      });
    },
  });

  const port = server.port ?? 0;
  return {
    baseURL: `http://127.0.0.1:${port}${format.basePath}`,
    port,
    requests,
    enqueue: (...scenarios) => {
      queue.push(...scenarios);
    },
    setResponder: (fn) => {
      responder = fn;
    },
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    waitForRequest: async (index) => {
      await arrival(index).promise;
      const request = requests[index];
      if (!request) throw new Error(`request ${index} was announced but not recorded`);
      return request;
    },
    stop: async () => {
      stopped.resolve();
      await server.stop(true);
    },
  };
}

/** A test server speaking the Anthropic Messages streaming API (`POST /v1/messages`). */
export function startAnthropicTestServer(): WireTestServer {
  return startWireTestServer(anthropicWire);
}

/** A test server speaking the OpenAI chat-completions streaming API (`POST /v1/chat/completions`). */
export function startOpenAITestServer(): WireTestServer {
  return startWireTestServer(openaiWire);
}
