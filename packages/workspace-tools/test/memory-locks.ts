import type { FileLock, LockRepository } from "@dispatch/conversation-store";

/**
 * An in-memory LockRepository with the store's documented semantics, for testing tool logic
 * without SQLite. The extension tests use the real store.
 */
export class MemoryLocks implements LockRepository {
  readonly #locks = new Map<string, FileLock>();
  now: () => number = Date.now;

  async acquire(input: {
    workspaceId: string;
    path: string;
    conversationId: string;
    turnId: string;
    ttlMs: number;
  }): Promise<{ ok: true; lock: FileLock } | { ok: false; holder: FileLock }> {
    const key = `${input.workspaceId}\0${input.path}`;
    const now = this.now();
    const held = this.#locks.get(key);
    if (held && held.conversationId !== input.conversationId && held.expiresAt > now) {
      return { ok: false, holder: held };
    }
    const lock: FileLock = {
      workspaceId: input.workspaceId,
      path: input.path,
      conversationId: input.conversationId,
      turnId: input.turnId,
      acquiredAt: now,
      expiresAt: now + input.ttlMs,
    };
    this.#locks.set(key, lock);
    return { ok: true, lock };
  }

  async releaseTurn(turnId: string): Promise<number> {
    let released = 0;
    for (const [key, lock] of this.#locks) {
      if (lock.turnId === turnId) {
        this.#locks.delete(key);
        released++;
      }
    }
    return released;
  }

  async sweepExpired(now: number): Promise<number> {
    let swept = 0;
    for (const [key, lock] of this.#locks) {
      if (lock.expiresAt < now) {
        this.#locks.delete(key);
        swept++;
      }
    }
    return swept;
  }

  async list(workspaceId: string): Promise<FileLock[]> {
    return [...this.#locks.values()].filter((lock) => lock.workspaceId === workspaceId);
  }
}
