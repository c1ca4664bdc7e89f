import { Database, type Statement } from "bun:sqlite";
import { resolve } from "node:path";
import type { DispatchEvents, EventName, Logger } from "@dispatch/kernel";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import * as schema from "./schema.ts";
import { StoreError } from "./store-error.ts";

/** Where the store publishes its change events: the kernel bus, or anything with the same `publish`. */
export interface BusPublisher {
  publish<K extends EventName>(event: K, payload: DispatchEvents[K]): void;
}

/** Queues a bus event; it is published only after the surrounding transaction commits. */
export type Emit = <K extends EventName>(event: K, payload: DispatchEvents[K]) => void;

/** The drizzle handle typed with this package's schema. */
export type StoreOrm = BunSQLiteDatabase<typeof schema>;

/** Options for `StoreDatabase.open`. */
export interface StoreDatabaseOptions {
  path: string;
  busyTimeoutMs: number;
  bus?: BusPublisher;
  logger?: Logger;
  clock?: () => number;
}

// One connection per file per process: it is the only writer this process has, so every write is
// serialised by bun:sqlite's synchronous API and no two transactions of ours can interleave.
const openPaths = new Set<string>();

/**
 * One SQLite connection (WAL, busy_timeout, foreign keys, synchronous=NORMAL) with its drizzle handle,
 * and the write path that publishes bus events after commit and never after a rollback.
 */
export class StoreDatabase {
  readonly sqlite: Database;
  readonly orm: StoreOrm;
  readonly path: string;
  readonly now: () => number;
  readonly #bus: BusPublisher | undefined;
  readonly #logger: Logger | undefined;
  readonly #begin: Statement;
  readonly #commit: Statement;
  readonly #rollback: Statement;
  readonly #dataVersion: Statement;
  /** Commits made through this connection (SQLite's `data_version` counts only other connections'). */
  #commits = 0;
  /** `data_version` as read in this event-loop turn; forgotten by `#nextTurn`. */
  #otherVersion: number | undefined;
  #nextTurn: ReturnType<typeof setImmediate> | undefined;
  #closed = false;

  private constructor(sqlite: Database, options: StoreDatabaseOptions) {
    this.sqlite = sqlite;
    this.path = resolve(options.path);
    this.orm = drizzle({ client: sqlite, schema });
    this.now = options.clock ?? Date.now;
    this.#bus = options.bus;
    this.#logger = options.logger;
    // IMMEDIATE takes the write lock up front, so a read-then-write (next seq, busy check) cannot be
    // overtaken by another connection between its read and its write.
    this.#begin = sqlite.prepare("BEGIN IMMEDIATE");
    this.#commit = sqlite.prepare("COMMIT");
    this.#rollback = sqlite.prepare("ROLLBACK");
    this.#dataVersion = sqlite.prepare("PRAGMA data_version");
  }

  /** Opens the file and sets the connection's pragmas; refuses a second open of one file in one process. */
  static open(options: StoreDatabaseOptions): StoreDatabase {
    const key = resolve(options.path);
    if (openPaths.has(key)) {
      throw new StoreError(
        "conflict",
        `${key} is already open in this process: the store keeps one writer connection per database`,
      );
    }
    const sqlite = new Database(options.path, { create: true, readwrite: true });
    try {
      sqlite.run(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
      const mode = sqlite.query<{ journal_mode: string }, []>("PRAGMA journal_mode = WAL").get();
      if (mode?.journal_mode !== "wal") {
        options.logger?.warn("SQLite did not switch to WAL mode", { path: key, mode: mode?.journal_mode });
      }
      sqlite.run("PRAGMA synchronous = NORMAL");
      sqlite.run("PRAGMA foreign_keys = ON");
      const db = new StoreDatabase(sqlite, options);
      openPaths.add(key);
      return db;
    } catch (error) {
      sqlite.close();
      throw error;
    }
  }

  /** True once `close` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Runs `fn` in one BEGIN IMMEDIATE transaction. Events passed to `emit` are published after COMMIT,
   * in order; a throw rolls back and drops them. Not reentrant: a nested call is a bug.
   */
  write<T>(fn: (emit: Emit) => T): T {
    this.#assertOpen();
    if (this.sqlite.inTransaction) throw new Error("nested StoreDatabase.write: writes must not nest");
    const pending: Array<() => void> = [];
    const emit: Emit = (event, payload) => {
      pending.push(() => this.#bus?.publish(event, payload));
    };
    this.#begin.run();
    let result: T;
    try {
      result = fn(emit);
      this.#commit.run();
      this.#commits += 1;
    } catch (error) {
      if (this.sqlite.inTransaction) this.#rollback.run();
      throw error;
    }
    for (const publish of pending) {
      try {
        publish();
      } catch (error) {
        // The change is committed; a subscriber's failure must not turn it into an error for the caller.
        this.#logger?.error("bus publish failed after commit", { err: error });
      }
    }
    return result;
  }

  /**
   * A token that changes whenever the database may have changed: after a commit through this connection
   * at once, and after a commit by any other connection from the next event-loop turn on. Lets a read
   * cache its result and stay correct across processes.
   *
   * `PRAGMA data_version` opens a read transaction (two lock calls on the WAL index, ~0.8 µs, as much
   * as the rest of a cached read's HTTP request), so it is read once per event-loop turn. That is
   * still linearizable: every request handled in a turn arrived before the turn began, so the state
   * at its first read lies between each request's arrival and its answer.
   */
  version(): string {
    this.#assertOpen();
    if (this.#otherVersion === undefined) {
      this.#otherVersion = (this.#dataVersion.get() as { data_version: number }).data_version;
      this.#nextTurn = setImmediate(() => {
        this.#otherVersion = undefined;
        this.#nextTurn = undefined;
      });
    }
    return `${this.#commits}.${this.#otherVersion}`;
  }

  /** Runs a read on the connection; fails clearly once the store is closed. */
  read<T>(fn: () => T): T {
    this.#assertOpen();
    return fn();
  }

  /** Checkpoints the WAL and closes the connection; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    openPaths.delete(this.path);
    if (this.#nextTurn !== undefined) clearImmediate(this.#nextTurn);
    try {
      this.sqlite.run("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (error) {
      this.#logger?.warn("WAL checkpoint at close failed", { err: error });
    }
    this.sqlite.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError("store_closed", `the conversation store (${this.path}) is closed`);
  }
}
