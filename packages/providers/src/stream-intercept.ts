/**
 * Hands a successful event stream to our own decoder instead of the SDK's. The SDK still builds and
 * sends the request and judges every failed answer (APICallError, status, headers, body), which is
 * where the providers' protocols differ most; only a 2xx `text/event-stream` body is taken away from
 * it, by the `fetch` the SDK is given: that fetch throws `EventStreamAnswer` carrying the response,
 * the SDK passes an error it does not know through unchanged, and `doStream` rejects with it.
 * (Measured in notes/benchmarks.md, hot path: the SDK's per-chunk schema checks and stream stages
 * were most of the host's CPU per streamed chunk.)
 */

/** What the intercepting fetch throws for a successful event stream. */
export class EventStreamAnswer extends Error {
  readonly response: Response;

  constructor(response: Response) {
    super("a successful event stream, taken over by the Dispatch stream decoder");
    this.name = "EventStreamAnswer";
    this.response = response;
  }
}

/** A fetch for the SDK that throws `EventStreamAnswer` for a 2xx event stream and returns anything else. */
export function interceptEventStreams(inner: typeof fetch = fetch): typeof fetch {
  const intercepting = async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const response = await inner(input, init);
    const type = response.headers.get("content-type") ?? "";
    if (response.ok && response.body !== null && type.toLowerCase().startsWith("text/event-stream")) {
      throw new EventStreamAnswer(response);
    }
    return response;
  };
  // `fetch` also carries `preconnect`; the SDK only calls it.
  return Object.assign(intercepting, { preconnect: inner.preconnect }) as typeof fetch;
}

/** The intercepted answer inside what `doStream` threw (itself or a cause), if it is one. */
export function eventStreamAnswerOf(error: unknown): EventStreamAnswer | undefined {
  const seen = new Set<unknown>();
  let current = error;
  while (current instanceof Error && !seen.has(current)) {
    if (current instanceof EventStreamAnswer) return current;
    seen.add(current);
    current = current.cause;
  }
  return undefined;
}
