/** One conversation's crashes in its current turn. */
export interface AttemptRecord {
  attempts: number;
  lastCrashAt: number;
}

/**
 * Respawn attempts by conversation, for the turn now running. A record lives only while its turn
 * does: the turn's every exit path and every path that ends a session drop it (the seed's leak was a
 * map like this one that some exit paths forgot).
 */
export class AttemptRecords {
  readonly #records = new Map<string, AttemptRecord>();

  /** Counts one more crash; returns the attempt number (1 for the first crash). */
  record(conversationId: string, now: number): number {
    const record = this.#records.get(conversationId) ?? { attempts: 0, lastCrashAt: now };
    record.attempts += 1;
    record.lastCrashAt = now;
    this.#records.set(conversationId, record);
    return record.attempts;
  }

  /** Crashes so far in the conversation's turn (0 when none). */
  of(conversationId: string): number {
    return this.#records.get(conversationId)?.attempts ?? 0;
  }

  delete(conversationId: string): void {
    this.#records.delete(conversationId);
  }

  clear(): void {
    this.#records.clear();
  }

  get size(): number {
    return this.#records.size;
  }
}
