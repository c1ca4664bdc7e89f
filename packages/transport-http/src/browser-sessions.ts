import { createHash, randomBytes } from "node:crypto";

/** Options for `BrowserSessions`. */
export interface BrowserSessionsOptions {
  /** How long a session lasts from its login. */
  ttlMs: number;
  /** The most sessions kept; past it the oldest is forgotten (its browser logs in again). */
  maxSessions?: number;
  clock?: () => number;
}

/** A new session: the cookie value to hand out, and when it expires. */
export interface NewSession {
  readonly id: string;
  readonly expiresAt: number;
}

/** Sessions are kept by a digest of their id, so the ids themselves are never held in memory after issue. */
const keyOf = (id: string) => createHash("sha256").update(id).digest("base64url");

/**
 * The browser sessions of one server: what `POST /auth/session` hands out for the token, as the value
 * of an HttpOnly cookie. In memory only, so a restart logs every browser out (they log in again with
 * the token). Bounded by `maxSessions`, oldest first out; expired sessions are dropped when looked up
 * or when a new one is made, so there is no timer.
 */
export class BrowserSessions {
  /** Insertion order is creation order, which is what eviction needs. */
  readonly #sessions = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #clock: () => number;

  constructor(options: BrowserSessionsOptions) {
    this.#ttlMs = options.ttlMs;
    this.#max = options.maxSessions ?? 1000;
    this.#clock = options.clock ?? Date.now;
  }

  /** Number of live sessions (some may have expired unseen). */
  get size(): number {
    return this.#sessions.size;
  }

  /** Starts a session: 256 random bits, base64url. */
  create(): NewSession {
    const now = this.#clock();
    for (const [key, expiresAt] of this.#sessions) if (expiresAt <= now) this.#sessions.delete(key);
    while (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    const id = randomBytes(32).toString("base64url");
    const expiresAt = now + this.#ttlMs;
    this.#sessions.set(keyOf(id), expiresAt);
    return { id, expiresAt };
  }

  /** When the session `id` expires, or undefined when it is unknown or over. */
  expiresAt(id: string): number | undefined {
    const key = keyOf(id);
    const expiresAt = this.#sessions.get(key);
    if (expiresAt === undefined) return undefined;
    if (expiresAt <= this.#clock()) {
      this.#sessions.delete(key);
      return undefined;
    }
    return expiresAt;
  }

  /** Ends the session `id` (a no-op for an unknown one). */
  delete(id: string): void {
    this.#sessions.delete(keyOf(id));
  }
}
