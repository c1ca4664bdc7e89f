import { DispatchApiError } from "./errors.js";
import type { HttpTransport } from "./http.js";
import { readSse } from "./sse.js";
import type { ConversationEvent } from "./types.js";

/** Options of `conversations.events`. */
export interface EventStreamOptions {
  /** Start after this `seq` (0, the default, replays the whole log). */
  after?: number;
  /** Stops the stream; the loop then ends without an error. */
  signal?: AbortSignal;
  /**
   * Reconnects in a row, without an event between them, before the stream gives up and throws
   * (default 10; `Infinity` follows a host through any restart). Each waits longer, up to 5 s.
   */
  maxRetries?: number;
  /** A connection silent this long (no event, no heartbeat) is taken as dead and reopened (default 45 s). */
  idleTimeoutMs?: number;
  /** Told about each reconnect (its attempt, the delay, why). */
  onReconnect?(info: { attempt: number; delayMs: number; reason: string; after: number }): void;
}

const firstDelayMs = 250;
const maxDelayMs = 5000;

/** Statuses worth reconnecting after: the host is restarting, overloaded or behind a proxy that hiccuped. */
const retryable = (error: DispatchApiError) =>
  error.status === 0 || error.status >= 500 || error.status === 429;

/**
 * A conversation's events as an async iterable that resumes by itself: after a dropped connection, a
 * host restart or a `slow_consumer` close it reconnects with `Last-Event-ID` set to the last `seq` it
 * yielded, so no event is missed or repeated. Ends when `signal` aborts or the consumer stops; throws a
 * DispatchApiError for an answer that will not change (404, 401) or after `maxRetries` failures in a row.
 */
export async function* conversationEvents(
  http: HttpTransport,
  conversationId: string,
  options: EventStreamOptions = {},
): AsyncGenerator<ConversationEvent, void, undefined> {
  let after = options.after ?? 0;
  const maxRetries = options.maxRetries ?? 10;
  const idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
  let failures = 0;
  const stopped = () => options.signal?.aborted === true;
  while (!stopped()) {
    // One controller per connection: aborted by the caller's signal, by the idle timer, or when the loop stops.
    const connection = new AbortController();
    const abort = () => connection.abort();
    options.signal?.addEventListener("abort", abort, { once: true });
    let idle: ReturnType<typeof setTimeout> | undefined;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(abort, idleTimeoutMs);
    };
    let reason = "the connection closed";
    try {
      touch();
      const res = await http.send({
        method: "GET",
        path: `/conversations/${encodeURIComponent(conversationId)}/events`,
        headers: { accept: "text/event-stream", ...(after > 0 ? { "last-event-id": String(after) } : {}) },
        signal: connection.signal,
      });
      if (res.body === null)
        throw new DispatchApiError(res.status, "invalid_response", "the event stream has no body");
      for await (const item of readSse(res.body)) {
        touch();
        if (item.kind === "comment") {
          if (item.text.startsWith("closed ")) reason = `the host closed the stream (${item.text.slice(7)})`;
          continue;
        }
        const event = JSON.parse(item.data) as ConversationEvent;
        // a duplicate can only come from a misbehaving proxy; never hand one out twice
        if (event.seq <= after) continue;
        after = event.seq;
        failures = 0;
        yield event;
      }
    } catch (error) {
      if (stopped()) return;
      if (DispatchApiError.isInstance(error) && !retryable(error) && error.code !== "aborted") throw error;
      reason = error instanceof Error ? error.message : String(error);
      if (connection.signal.aborted) reason = `no event or heartbeat for ${idleTimeoutMs} ms`;
    } finally {
      clearTimeout(idle);
      options.signal?.removeEventListener("abort", abort);
      connection.abort();
    }
    failures++;
    if (failures > maxRetries) {
      throw new DispatchApiError(
        0,
        "network_error",
        `gave up on the event stream after ${maxRetries} reconnects: ${reason}`,
      );
    }
    const delayMs = Math.min(maxDelayMs, firstDelayMs * 2 ** (failures - 1));
    options.onReconnect?.({ attempt: failures, delayMs, reason, after });
    await sleep(delayMs, options.signal);
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
