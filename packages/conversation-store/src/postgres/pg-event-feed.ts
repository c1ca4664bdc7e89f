import type { Logger } from "@dispatch/kernel";
import type { EventFeed, EventFeedListener } from "../types.ts";
import type { PgStoreDatabase } from "./pg-database.ts";

/** The channel announcements travel on; the payload is `<origin instance> <conversationId> <seq>`. */
export const eventChannel = "dispatch_events";

/**
 * The event feed on PostgreSQL: announcements go out as NOTIFY on one channel, coalesced per
 * conversation (the highest seq wins) into one statement per event-loop turn; a host ignores its
 * own. A NOTIFY carries only the seq: the events themselves are read from the table, which also
 * covers any announcement lost while the listening connection was re-established (`resync`).
 */
export class PgEventFeed implements EventFeed {
  readonly #db: PgStoreDatabase;
  readonly #instanceId: string;
  readonly #logger: Logger | undefined;
  readonly #listeners = new Set<EventFeedListener>();
  readonly #pending = new Map<string, number>();
  #flush: ReturnType<typeof setImmediate> | undefined;
  #listening = 0;
  #closed = false;

  constructor(db: PgStoreDatabase, instanceId: string, logger?: Logger) {
    this.#db = db;
    this.#instanceId = instanceId;
    this.#logger = logger;
  }

  /** Starts listening; resolves once the LISTEN is in place. */
  async start(): Promise<void> {
    await this.#db.listen(
      eventChannel,
      (payload) => this.#heard(payload),
      () => {
        // the first LISTEN is the start; a later one follows a reconnect, when some may be lost
        this.#listening += 1;
        if (this.#listening > 1) for (const listener of this.#listeners) listener.resync();
      },
    );
  }

  announce(conversationId: string, seq: number): void {
    if (this.#closed) return;
    if ((this.#pending.get(conversationId) ?? 0) < seq) this.#pending.set(conversationId, seq);
    this.#flush ??= setImmediate(() => void this.#send());
  }

  subscribe(listener: EventFeedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sends what is pending and stops announcing. */
  async close(): Promise<void> {
    if (this.#flush !== undefined) clearImmediate(this.#flush);
    await this.#send();
    this.#closed = true;
    this.#listeners.clear();
  }

  async #send(): Promise<void> {
    this.#flush = undefined;
    if (this.#pending.size === 0 || this.#db.closed) return;
    const payloads = [...this.#pending].map(([id, seq]) => `${this.#instanceId} ${id} ${seq}`);
    this.#pending.clear();
    try {
      await this.#db.sql`select pg_notify(${eventChannel}, p) from unnest(${payloads}::text[]) p`;
    } catch (error) {
      // subscribers elsewhere still catch up at their next announcement or resync
      this.#logger?.warn("could not announce events to the other hosts", { err: error });
    }
  }

  #heard(payload: string): void {
    const [origin, conversationId, seqText] = payload.split(" ");
    if (origin === this.#instanceId || conversationId === undefined) return;
    const seq = Number(seqText);
    if (!Number.isSafeInteger(seq)) return;
    for (const listener of this.#listeners) listener.advanced(conversationId, seq);
  }
}
