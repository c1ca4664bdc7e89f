import { Database, type Statement } from "bun:sqlite";
import { AsyncLocalStorage } from "node:async_hooks";
import { resolve } from "node:path";
import type { DispatchEvents, EventName, Logger } from "@dispatch/kernel";
import { type BunSQLiteDatabase, drizzle } from "drizzle-orm/bun-sqlite";
import { runProxyStatement, type StatementMethod } from "./proxy-statement.ts";
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

/** An open `transaction`: its queued events, and a promise that settles when it has ended. */
interface TransactionScope {
  readonly pending: Array<() => void>;
  readonly ended: Promise<void>;
  end(): void;
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
  readonly #savepoint: Statement;
  readonly #release: Statement;
  readonly #rollbackToSavepoint: Statement;
  readonly #dataVersion: Statement;
  /**
   * Changes made through this connection (SQLite's `data_version` counts only other connections'):
   * commits, and inside an open `transaction` each write and the rollback, so a cached read made
   * inside it is never served after it.
   */
  #changes = 0;
  /** The `transaction` that holds the connection, if any; other async contexts wait for it to end. */
  #open: TransactionScope | undefined;
  /** Which async context runs inside `#open`: its callback and everything it awaits. */
  readonly #scope = new AsyncLocalStorage<TransactionScope>();
  /** True while a `write` callback runs, so a nested write is caught inside a transaction too. */
  #writing = false;
  /** Rollbacks of this connection's writes (whole transactions and savepoints), for `writerEpoch`. */
  #rollbacks = 0;
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
    this.#savepoint = sqlite.prepare("SAVEPOINT dispatch_write");
    this.#release = sqlite.prepare("RELEASE dispatch_write");
    this.#rollbackToSavepoint = sqlite.prepare("ROLLBACK TO dispatch_write");
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
   * in order; a throw rolls back and drops them. Not reentrant: a nested call is a bug. Inside an open
   * `transaction` it runs as a savepoint of that transaction, and its events wait for its COMMIT; with
   * `oneChange` (`fn` changes rows with one statement at most, and emits nothing) it runs there as it
   * is, since SQLite undoes a failed statement by itself.
   */
  write<T>(fn: (emit: Emit) => T, options?: { oneChange?: boolean }): T {
    this.#assertOpen();
    if (this.#writing) throw new Error("nested StoreDatabase.write: writes must not nest");
    const open = this.#insideOpen();
    if (open !== undefined) {
      return options?.oneChange === true ? this.#writeOneChange(fn) : this.#writeInside(open, fn);
    }
    if (this.sqlite.inTransaction) throw new Error("nested StoreDatabase.write: writes must not nest");
    const pending: Array<() => void> = [];
    const emit: Emit = (event, payload) => {
      pending.push(() => this.#bus?.publish(event, payload));
    };
    this.#begin.run();
    let result: T;
    this.#writing = true;
    try {
      result = fn(emit);
      this.#commit.run();
      this.#changes += 1;
    } catch (error) {
      // counted even when SQLite has rolled back by itself (a full disk, say)
      this.#rollbacks += 1;
      if (this.sqlite.inTransaction) this.#rollback.run();
      throw error;
    } finally {
      this.#writing = false;
    }
    this.#publish(pending);
    return result;
  }

  /**
   * A token that changes whenever rows this connection wrote may no longer be as it wrote them: after
   * another connection's commit, and after any rollback of ours. Read it inside `write`, which holds the
   * write lock, so no other connection can commit between the read and the write's own statements; a
   * writer can then keep what it last wrote (the event log keeps each conversation's last seq) for as
   * long as the token stays the same.
   */
  writerEpoch(): string {
    if (!this.#writing) throw new Error("StoreDatabase.writerEpoch is read inside write()");
    return `${(this.#dataVersion.get() as { data_version: number }).data_version}.${this.#rollbacks}`;
  }

  /**
   * Runs `fn` now, unless another async context's `transaction` holds the connection: then once that
   * has ended. Every repository call goes through here, so none reads or writes inside a transaction
   * it is not part of (on one connection it would see, or be rolled back with, uncommitted rows).
   */
  gate<T>(fn: () => T): T | Promise<T> {
    const open = this.#open;
    if (open === undefined || this.#scope.getStore() === open) return fn();
    return open.ended.then(() => this.gate(fn));
  }

  /**
   * Runs `fn` in one BEGIN IMMEDIATE transaction that spans its awaits. Repository calls and extension
   * statements made from `fn`'s async context join it; those from any other context wait until it
   * ends. Events queued with `emit` (and by the repositories) are published after COMMIT, in order; a
   * throw rolls everything back and publishes nothing. Does not nest.
   */
  async transaction<T>(fn: (emit: Emit) => T | Promise<T>): Promise<T> {
    this.#assertOpen();
    if (this.#open !== undefined && this.#scope.getStore() === this.#open) {
      throw new StoreError(
        "conflict",
        "store.transaction does not nest: this call is already inside a transaction, so make its reads and writes directly",
      );
    }
    while (this.#open !== undefined) await this.#open.ended;
    this.#assertOpen();
    let end = () => {};
    const ended = new Promise<void>((resolve) => {
      end = resolve;
    });
    const scope: TransactionScope = { pending: [], ended, end };
    this.#begin.run();
    this.#open = scope;
    const emit: Emit = (event, payload) => {
      scope.pending.push(() => this.#bus?.publish(event, payload));
    };
    let result: T;
    try {
      result = await this.#scope.run(scope, () => fn(emit));
      this.#assertOpen();
      this.#commit.run();
    } catch (error) {
      this.#rollbacks += 1;
      if (!this.#closed && this.sqlite.inTransaction) this.#rollback.run();
      throw error;
    } finally {
      this.#changes += 1;
      if (this.#open === scope) this.#open = undefined;
      scope.end();
    }
    this.#publish(scope.pending);
    return result;
  }

  /**
   * Runs one statement for an extension's drizzle handle (drizzle's sqlite-proxy protocol): inside
   * the caller's transaction, or on its own (autocommit) once no other context's transaction is open.
   */
  async execute(
    sql: string,
    params: readonly unknown[],
    method: StatementMethod,
  ): Promise<{ rows: unknown[] }> {
    return this.gate(() => {
      this.#assertOpen();
      return this.#statement(sql, params, method);
    });
  }

  /** Runs an extension handle's `batch` as one write: all its statements or none. */
  async executeBatch(
    batch: ReadonlyArray<{ sql: string; params: readonly unknown[]; method: StatementMethod }>,
  ): Promise<Array<{ rows: unknown[] }>> {
    return this.gate(() =>
      this.write(() => batch.map(({ sql, params, method }) => this.#statement(sql, params, method))),
    );
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
    return `${this.#changes}.${this.#otherConnections()}`;
  }

  /**
   * A token that changes when another connection commits (seen from the next event-loop turn on, as
   * with `version`) or this connection rolls a write back: while it holds, rows read through this
   * connection are as they were, but for what this connection itself added since.
   */
  readEpoch(): string {
    this.#assertOpen();
    return `${this.#otherConnections()}.${this.#rollbacks}`;
  }

  /** `data_version`, read once per event-loop turn. */
  #otherConnections(): number {
    if (this.#otherVersion === undefined) {
      this.#otherVersion = (this.#dataVersion.get() as { data_version: number }).data_version;
      this.#nextTurn = setImmediate(() => {
        this.#otherVersion = undefined;
        this.#nextTurn = undefined;
      });
    }
    return this.#otherVersion;
  }

  /** Runs a read on the connection; fails clearly once the store is closed. */
  read<T>(fn: () => T): T {
    this.#assertOpen();
    this.#insideOpen();
    return fn();
  }

  /** Checkpoints the WAL and closes the connection; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    openPaths.delete(this.path);
    if (this.#nextTurn !== undefined) clearImmediate(this.#nextTurn);
    // A transaction still open is rolled back; whoever waits for it wakes up to `store_closed`.
    if (this.sqlite.inTransaction) this.#rollback.run();
    this.#open?.end();
    this.#open = undefined;
    try {
      this.sqlite.run("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (error) {
      this.#logger?.warn("WAL checkpoint at close failed", { err: error });
    }
    this.sqlite.close();
  }

  /**
   * The open transaction when the caller runs inside it; undefined when none is open. A caller from
   * another context got past `gate`, which is a bug in this package.
   */
  #insideOpen(): TransactionScope | undefined {
    const open = this.#open;
    if (open === undefined) return undefined;
    if (this.#scope.getStore() !== open) {
      throw new Error("StoreDatabase used outside the open transaction without going through gate()");
    }
    return open;
  }

  #writeInside<T>(open: TransactionScope, fn: (emit: Emit) => T): T {
    const mark = open.pending.length;
    const emit: Emit = (event, payload) => {
      open.pending.push(() => this.#bus?.publish(event, payload));
    };
    this.#savepoint.run();
    this.#writing = true;
    try {
      const result = fn(emit);
      this.#release.run();
      return result;
    } catch (error) {
      // Undo this write alone: the transaction goes on if its callback catches the error.
      this.#rollbacks += 1;
      this.#rollbackToSavepoint.run();
      this.#release.run();
      open.pending.length = mark;
      throw error;
    } finally {
      this.#writing = false;
      this.#changes += 1;
    }
  }

  /** A `oneChange` write inside the open transaction: no savepoint, there is nothing of it to undo. */
  #writeOneChange<T>(fn: (emit: Emit) => T): T {
    this.#writing = true;
    try {
      return fn(() => {
        throw new Error("a oneChange write does not emit events");
      });
    } catch (error) {
      this.#rollbacks += 1;
      throw error;
    } finally {
      this.#writing = false;
      this.#changes += 1;
    }
  }

  #statement(sql: string, params: readonly unknown[], method: StatementMethod): { rows: unknown[] } {
    return runProxyStatement(this.sqlite, sql, params, method, () => {
      this.#changes += 1;
    });
  }

  #publish(pending: ReadonlyArray<() => void>): void {
    for (const publish of pending) {
      try {
        publish();
      } catch (error) {
        // The change is committed; a subscriber's failure must not turn it into an error for the caller.
        this.#logger?.error("bus publish failed after commit", { err: error });
      }
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError("store_closed", `the conversation store (${this.path}) is closed`);
  }
}
