import type { Message } from "@dispatch/wire";

/** A conversation's history as last read, so the next read adds only the rows after it. */
export interface CachedHistory {
  /** `StoreDatabase.readEpoch()` when it was read: another epoch means read it all again. */
  readonly epoch: string;
  /** Frozen: every reader shares them. */
  readonly messages: readonly Message[];
  /** The rowid and `created_at` of the last message. */
  readonly lastRow: number;
  readonly lastCreatedAt: number;
  /** The stored size of its `parts` columns, for the cache's bound. */
  readonly bytes: number;
}

/** How many histories, and how many bytes of message parts, the cache keeps at most. */
export const historyCacheLimits = { entries: 64, bytes: 8 * 1024 * 1024 };

/**
 * The histories read lately, by conversation, least recently read dropped first (issue 25): every turn
 * reads its conversation's whole history, and parsing it again was the largest read of a turn.
 */
export class HistoryCache {
  readonly #entries = new Map<string, CachedHistory>();
  #bytes = 0;

  /** The cached history when it was read in `epoch`. */
  get(conversationId: string, epoch: string): CachedHistory | undefined {
    const entry = this.#entries.get(conversationId);
    if (entry === undefined) return undefined;
    if (entry.epoch !== epoch) {
      this.drop(conversationId);
      return undefined;
    }
    // most recently read last, so the bound drops the least recently read first
    this.#entries.delete(conversationId);
    this.#entries.set(conversationId, entry);
    return entry;
  }

  /** Keeps `entry` (a history larger than the whole bound is not kept). */
  set(conversationId: string, entry: CachedHistory): void {
    this.drop(conversationId);
    if (entry.bytes > historyCacheLimits.bytes) return;
    this.#entries.set(conversationId, entry);
    this.#bytes += entry.bytes;
    for (const [id, oldest] of this.#entries) {
      if (this.#entries.size <= historyCacheLimits.entries && this.#bytes <= historyCacheLimits.bytes) break;
      this.#entries.delete(id);
      this.#bytes -= oldest.bytes;
    }
  }

  drop(conversationId: string): void {
    const entry = this.#entries.get(conversationId);
    if (entry === undefined) return;
    this.#entries.delete(conversationId);
    this.#bytes -= entry.bytes;
  }

  /** Histories kept (for tests). */
  get size(): number {
    return this.#entries.size;
  }
}

/** Freezes a message and everything in its parts (JSON data), so a reader cannot change the cache. */
export function frozenMessage(message: Message): Message {
  deepFreeze(message);
  return message;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const item of Object.values(value)) deepFreeze(item);
}
