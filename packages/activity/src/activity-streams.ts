import type { ActivityEntry } from "@dispatch/wire";
import type { ActivityLog } from "./activity-log.ts";

const encoder = new TextEncoder();
const heartbeat = encoder.encode(": heartbeat\n\n");

/** Options for `ActivityStreams`. */
export interface ActivityStreamsOptions {
  heartbeatMs: number;
  /** Entries a client may have waiting before it is dropped as too slow (`: closed slow_consumer`). */
  maxBuffered: number;
  /** Chunks a client may leave unread in its response before the heartbeat drops it. Default 64. */
  maxUnread?: number;
  /**
   * Ends the connection of a dropped client: closing its stream is not enough for one that stopped
   * reading, whose socket would stay behind a full buffer (transport-http's `closeWhenIdle`).
   */
  closeConnection?: (request: Request) => void;
}

interface Client {
  readonly request: Request;
  readonly queue: ActivityEntry[];
  readonly controller: ReadableStreamDefaultController<Uint8Array>;
  wake: (() => void) | undefined;
  stop: () => void;
  closed: boolean;
}

/**
 * The open `GET /activity/stream` responses: one heartbeat timer for all of them (never one per
 * client), each client's backlog bounded by `maxBuffered`. A response is pull-based, so the next
 * entry is written only once the client read the previous one; a client that stops reading fills its
 * backlog and is dropped instead of growing memory.
 */
export class ActivityStreams {
  readonly #log: ActivityLog;
  readonly #options: ActivityStreamsOptions;
  readonly #clients = new Set<Client>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(log: ActivityLog, options: ActivityStreamsOptions) {
    this.#log = log;
    this.#options = options;
  }

  /** Open streams. */
  get size(): number {
    return this.#clients.size;
  }

  /**
   * Streams the entries after `after` that the log still keeps, then new ones as they come; without
   * `after`, only new ones. `id:` is the entry's id, for `Last-Event-ID`.
   */
  open(after: { boot: string; n: number } | undefined, request: Request): Response {
    const signal = request.signal;
    let client: Client | undefined;
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          const current: Client = {
            request,
            queue: [],
            controller,
            wake: undefined,
            stop: () => {},
            closed: false,
          };
          client = current;
          // Listening and the replay read happen in one synchronous step, so no entry falls between.
          const unlisten = this.#log.listen((entry) => {
            current.queue.push(entry);
            if (current.queue.length > this.#options.maxBuffered) this.#close(current, "slow_consumer");
            else current.wake?.();
          });
          const onAbort = () => this.#close(current, "client disconnected");
          current.stop = () => {
            unlisten();
            signal.removeEventListener("abort", onAbort);
          };
          signal.addEventListener("abort", onAbort, { once: true });
          if (after !== undefined) current.queue.push(...this.#log.after(after));
          this.#clients.add(current);
          this.#startTimer();
          controller.enqueue(encoder.encode(": connected\nretry: 2000\n\n"));
        },
        pull: async (controller) => {
          const current = client;
          if (current === undefined || current.closed) return;
          while (current.queue.length === 0 && !current.closed) {
            await new Promise<void>((resolve) => {
              current.wake = resolve;
            });
            current.wake = undefined;
          }
          const entry = current.queue.shift();
          if (current.closed || entry === undefined) return;
          controller.enqueue(encoder.encode(`id: ${entry.id}\ndata: ${JSON.stringify(entry)}\n\n`));
        },
        cancel: () => {
          if (client) this.#close(client, "client disconnected");
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

  /** Ends every stream and the heartbeat timer (shutdown). */
  closeAll(): void {
    for (const client of [...this.#clients]) this.#close(client, "shutdown");
    this.#stopTimer();
  }

  /** Ends a client once, whatever ends it; never throws. */
  #close(client: Client, reason: string): void {
    if (client.closed) return;
    client.closed = true;
    this.#clients.delete(client);
    client.stop();
    client.queue.length = 0;
    client.wake?.();
    try {
      client.controller.enqueue(encoder.encode(`: closed ${reason}\n\n`));
      client.controller.close();
    } catch {
      // The stream is already closed: nothing left to tell the client.
    }
    if (reason === "slow_consumer") this.#options.closeConnection?.(client.request);
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
    const maxUnread = this.#options.maxUnread ?? 64;
    for (const client of [...this.#clients]) {
      try {
        if (-(client.controller.desiredSize ?? 0) > maxUnread) this.#close(client, "slow_consumer");
        else client.controller.enqueue(heartbeat);
      } catch {
        this.#close(client, "error");
      }
    }
  }
}
