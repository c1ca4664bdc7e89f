import type { EventSubscription } from "@dispatch/session-orchestrator";
import { eventFrame } from "./sse-frame.ts";

const encoder = new TextEncoder();
const heartbeat = encoder.encode(": heartbeat\n\n");

/** How long an EventSource waits before it reconnects (the stream's `retry:` field). */
export const sseRetryMs = 2000;

interface Client {
  readonly request: Request;
  readonly subscription: EventSubscription;
  readonly controller: ReadableStreamDefaultController<Uint8Array>;
  readonly onAbort: () => void;
  closed: boolean;
}

/** Options for `SseHub`. */
export interface SseHubOptions {
  heartbeatMs: number;
  /** Chunks a client may leave unread (events plus heartbeats) before it is dropped as too slow. */
  maxUnread: number;
  /**
   * Ends the TCP connection of a dropped client. Closing its stream is not enough: a client that does
   * not read leaves the response stuck behind a full socket buffer, which the server would keep
   * (and its megabytes) for as long as the client stays connected.
   */
  closeConnection?: (request: Request) => void;
}

/**
 * Owns every open SSE response: one heartbeat timer for all of them (never one per client), and
 * the set of clients so shutdown can end them. Events are pulled from the subscription only when the
 * client has read what it was sent, so a slow client backs up into its subscription's bounded buffer,
 * which drops it, instead of growing memory here. Each client is closed exactly once, whatever ends
 * it (its subscription failing or ending, a disconnect, the heartbeat, shutdown), and nothing one
 * client does can throw past it into the heartbeat loop.
 */
export class SseHub {
  readonly #clients = new Set<Client>();
  readonly #options: SseHubOptions;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: SseHubOptions) {
    this.#options = options;
  }

  /** Number of open SSE responses. */
  get size(): number {
    return this.#clients.size;
  }

  /** Streams a subscription as `text/event-stream`; `id:` is the event's `seq`. */
  open(subscription: EventSubscription, request: Request): Response {
    const iterator = subscription[Symbol.asyncIterator]();
    let client: Client | undefined;
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          const onAbort = () => this.#close(current, "client disconnected", false);
          const current: Client = { request, subscription, controller, onAbort, closed: false };
          client = current;
          request.signal.addEventListener("abort", onAbort, { once: true });
          this.#clients.add(current);
          this.#startTimer();
          // A dropped subscription ends the client at once: a client that stopped reading is never
          // pulled again, so waiting for `next()` to say so would keep its connection forever.
          void subscription.ended.then((reason) => {
            if (reason === "slow_consumer") this.#close(current, reason, true);
          });
          controller.enqueue(encoder.encode(`: connected\nretry: ${sseRetryMs}\n\n`));
        },
        pull: async (controller) => {
          if (client === undefined || client.closed) return;
          let next: IteratorResult<{ seq: number }>;
          try {
            next = await iterator.next();
          } catch {
            // A subscription that failed (a replay read, say) has already dropped itself with a reason.
            this.#close(client, subscription.closedReason ?? "error", false);
            return;
          }
          if (next.done) {
            const reason = subscription.closedReason ?? "end";
            this.#close(client, reason, reason === "slow_consumer");
            return;
          }
          if (client.closed) return;
          controller.enqueue(eventFrame(next.value));
        },
        cancel: () => {
          if (client) this.#close(client, "client disconnected", false);
        },
      },
      { highWaterMark: 1 },
    );
    return new Response(stream, {
      headers: {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-cache",
        Connection: "keep-alive",
        "X-Accel-Buffering": "no",
      },
    });
  }

  /**
   * Shutdown, first part: every stream ends cleanly once its client has read what its subscription
   * still holds (the final events of interrupted turns), with `: closed <reason>`.
   */
  finishAll(reason: string): void {
    for (const client of this.#clients) client.subscription.finish(reason);
  }

  /** Closes every stream at once and stops the heartbeat timer (shutdown, after `finishAll`'s grace). */
  closeAll(): void {
    for (const client of [...this.#clients]) this.#close(client, "shutdown", false);
    this.#stopTimer();
  }

  /** Ends a client once: its subscription, its stream and, when dropped, its connection. Never throws. */
  #close(client: Client, reason: string, drop: boolean): void {
    if (client.closed) return;
    client.closed = true;
    this.#clients.delete(client);
    client.request.signal.removeEventListener("abort", client.onAbort);
    client.subscription.close();
    try {
      client.controller.enqueue(encoder.encode(`: closed ${reason}\n\n`));
      client.controller.close();
    } catch {
      // The stream is already closed or errored: nothing left to tell the client.
    }
    if (drop) this.#options.closeConnection?.(client.request);
    if (this.#clients.size === 0) this.#stopTimer();
  }

  #startTimer(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#heartbeat(), this.#options.heartbeatMs);
    this.#timer.unref?.();
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #heartbeat(): void {
    for (const client of [...this.#clients]) {
      try {
        const unread = -(client.controller.desiredSize ?? 0);
        if (unread > this.#options.maxUnread) this.#close(client, "slow_consumer", true);
        else client.controller.enqueue(heartbeat);
      } catch {
        // Its stream went away underneath us: end this client, keep beating for the others.
        this.#close(client, "error", true);
      }
    }
  }
}
