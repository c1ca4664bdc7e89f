import type { EventSubscription } from "@dispatch/session-orchestrator";

const encoder = new TextEncoder();

interface Client {
  controller: ReadableStreamDefaultController<Uint8Array>;
  close(reason: string): void;
}

/** Options for `SseHub`. */
export interface SseHubOptions {
  heartbeatMs: number;
  /** Chunks a client may leave unread (events plus heartbeats) before it is dropped as too slow. */
  maxUnread: number;
}

/**
 * Owns every open SSE response: one heartbeat timer for all of them (never one per client), and
 * the set of clients so shutdown can close them. Events are pulled from the subscription only when the
 * client has read what it was sent, so a slow client backs up into its subscription's bounded buffer,
 * which drops it, instead of growing memory here.
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
  open(subscription: EventSubscription, abort: AbortSignal): Response {
    const iterator = subscription[Symbol.asyncIterator]();
    let client: Client | undefined;
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          let closed = false;
          const current: Client = {
            controller,
            close: (reason) => {
              if (closed) return;
              closed = true;
              this.#clients.delete(current);
              subscription.close();
              abort.removeEventListener("abort", onAbort);
              try {
                controller.enqueue(encoder.encode(`: closed ${reason}\n\n`));
                controller.close();
              } catch {
                // The client already went away; nothing left to tell it.
              }
              if (this.#clients.size === 0) this.#stopTimer();
            },
          };
          const onAbort = () => current.close("client disconnected");
          abort.addEventListener("abort", onAbort, { once: true });
          client = current;
          this.#clients.add(current);
          this.#startTimer();
          controller.enqueue(encoder.encode(": connected\n\n"));
        },
        pull: async (controller) => {
          const next = await iterator.next();
          if (next.done) {
            client?.close(subscription.closedReason ?? "end");
            return;
          }
          const event = next.value;
          controller.enqueue(encoder.encode(`id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`));
        },
        cancel: () => client?.close("client disconnected"),
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
    const beat = encoder.encode(": heartbeat\n\n");
    for (const client of [...this.#clients]) {
      const unread = -(client.controller.desiredSize ?? 0);
      if (unread > this.#options.maxUnread) client.close("slow_consumer");
      else client.controller.enqueue(beat);
    }
  }

  /** Closes every stream and the heartbeat timer (shutdown). */
  closeAll(): void {
    for (const client of [...this.#clients]) client.close("shutdown");
    this.#stopTimer();
  }
}
