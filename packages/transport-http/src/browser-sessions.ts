import { createHmac, randomBytes } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";

/** Options for `BrowserSessions`. */
export interface BrowserSessionsOptions {
  /** How long a session lasts from its login. */
  ttlMs: number;
  /**
   * Keys the stored sessions (HMAC of the session id): the configured token, so a new token ends
   * every session made under the old one, and a session file says nothing without it.
   */
  secret: string;
  /** Where sessions are kept across restarts (rewritten on every login and logout); none: memory only. */
  file?: string;
  /** The most sessions kept; past it the oldest is forgotten (its browser logs in again). */
  maxSessions?: number;
  clock?: () => number;
}

/** A new session: the cookie value to hand out, and when it expires. */
export interface NewSession {
  readonly id: string;
  readonly expiresAt: number;
}

/**
 * The browser sessions of one server: what `POST /auth/session` hands out for the token, as the value
 * of an HttpOnly cookie. Kept by an HMAC of their id (so neither the ids nor the token are ever
 * stored), in memory and, with `file`, on disk, so a restart does not log every browser out. Bounded
 * by `maxSessions`, oldest first out; expired sessions are dropped when looked up or when the set
 * changes, so there is no timer.
 */
export class BrowserSessions {
  /** Insertion order is creation order, which is what eviction needs. */
  readonly #sessions = new Map<string, number>();
  readonly #options: BrowserSessionsOptions;
  readonly #clock: () => number;

  constructor(options: BrowserSessionsOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
    if (options.file !== undefined) this.#load(options.file);
  }

  /** Number of live sessions (some may have expired unseen). */
  get size(): number {
    return this.#sessions.size;
  }

  /** Starts a session: 256 random bits, base64url. */
  create(): NewSession {
    const now = this.#clock();
    this.#prune(now);
    while (this.#sessions.size >= (this.#options.maxSessions ?? 1000)) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    const id = randomBytes(32).toString("base64url");
    const expiresAt = now + this.#options.ttlMs;
    this.#sessions.set(this.#keyOf(id), expiresAt);
    this.#save();
    return { id, expiresAt };
  }

  /** When the session `id` expires, or undefined when it is unknown or over. */
  expiresAt(id: string): number | undefined {
    const key = this.#keyOf(id);
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
    if (this.#sessions.delete(this.#keyOf(id))) this.#save();
  }

  #keyOf(id: string): string {
    return createHmac("sha256", this.#options.secret).update(id).digest("base64url");
  }

  #prune(now: number): void {
    for (const [key, expiresAt] of this.#sessions) if (expiresAt <= now) this.#sessions.delete(key);
  }

  /** A missing or unreadable file is an empty set: at worst, browsers log in again. */
  #load(file: string): void {
    let entries: unknown;
    try {
      entries = JSON.parse(readFileSync(file, "utf8")).sessions;
    } catch {
      return;
    }
    if (!Array.isArray(entries)) return;
    const now = this.#clock();
    for (const entry of entries) {
      if (
        Array.isArray(entry) &&
        typeof entry[0] === "string" &&
        typeof entry[1] === "number" &&
        entry[1] > now
      ) {
        this.#sessions.set(entry[0], entry[1]);
      }
    }
  }

  /** Rewrites the file atomically (temp file, then rename), readable by the owner only. */
  #save(): void {
    const file = this.#options.file;
    if (file === undefined) return;
    this.#prune(this.#clock());
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify({ sessions: [...this.#sessions] }), { mode: 0o600 });
    renameSync(temp, file);
  }
}
