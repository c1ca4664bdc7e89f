/**
 * A client that keeps one SSE stream open on a conversation (as a UI would) and tells when a turn
 * reached its final event. Holds at most one entry per unfinished or not-yet-awaited turn.
 */

import { sseMessages } from "@dispatch/transport-http/testing";

const finalTypes = new Set(["turn.completed", "turn.failed", "turn.cancelled", "turn.interrupted"]);

/** The final event type of a turn, e.g. `turn.completed`. */
export type FinalType = string;

/** One open `GET /conversations/:id/events` stream. */
export class TurnWatcher {
  readonly #abort = new AbortController();
  readonly #waiters = new Map<string, { resolve(type: FinalType): void; reject(error: Error): void }>();
  /** Turns that finished before anyone waited for them (the SSE event can beat the 202). */
  readonly #early = new Map<string, FinalType>();
  #lastSeq = 0;
  #ended: Promise<void> = Promise.resolve();
  #failure: Error | undefined;

  private constructor(
    readonly url: string,
    readonly conversationId: string,
  ) {}

  /** Opens the stream and returns once the server has answered with its headers. */
  static async open(url: string, conversationId: string): Promise<TurnWatcher> {
    const watcher = new TurnWatcher(url, conversationId);
    const res = await fetch(`${url}/conversations/${conversationId}/events`, {
      signal: watcher.#abort.signal,
    });
    if (res.status !== 200 || !res.body) throw new Error(`SSE ${conversationId}: ${res.status}`);
    watcher.#ended = watcher.#read(res.body).catch((error: unknown) => watcher.#fail(error));
    return watcher;
  }

  /** Highest `seq` received. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Resolves with the turn's final event type. */
  finished(turnId: string): Promise<FinalType> {
    if (this.#failure) return Promise.reject(this.#failure);
    const early = this.#early.get(turnId);
    if (early !== undefined) {
      this.#early.delete(turnId);
      return Promise.resolve(early);
    }
    return new Promise((resolve, reject) => this.#waiters.set(turnId, { resolve, reject }));
  }

  /** A broken stream fails every waiter, so a drill stops instead of hanging. */
  #fail(error: unknown): void {
    if (this.#abort.signal.aborted) return;
    this.#failure = error instanceof Error ? error : new Error(String(error));
    for (const waiter of this.#waiters.values()) waiter.reject(this.#failure);
    this.#waiters.clear();
  }

  /** Disconnects and waits for the reader to stop. */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.#ended;
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    for await (const { data } of sseMessages(body)) this.#event(data);
    if (!this.#abort.signal.aborted) throw new Error(`SSE ${this.conversationId} ended by the server`);
  }

  #event(data: string): void {
    const event = JSON.parse(data) as { seq: number; type: string; turnId: string | null };
    if (event.seq !== this.#lastSeq + 1) {
      throw new Error(`SSE ${this.conversationId}: seq ${event.seq} after ${this.#lastSeq}`);
    }
    this.#lastSeq = event.seq;
    if (event.turnId === null || !finalTypes.has(event.type)) return;
    const waiter = this.#waiters.get(event.turnId);
    if (waiter) {
      this.#waiters.delete(event.turnId);
      waiter.resolve(event.type);
    } else this.#early.set(event.turnId, event.type);
  }
}
