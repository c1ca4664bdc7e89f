import { AsyncLocalStorage } from "node:async_hooks";
import type { Logger } from "@dispatch/kernel";
import { SQL, type TransactionSQL } from "bun";
import type { BusPublisher, Emit } from "../store-database.ts";
import { StoreError } from "../store-error.ts";

/** Options for `PgStoreDatabase.open`. */
export interface PgStoreDatabaseOptions {
  url: string;
  /** Pool size (connections); LISTEN takes one more of its own. */
  maxConnections: number;
  bus?: BusPublisher;
  logger?: Logger;
  clock?: () => number;
}

/** An open `transaction`: its connection, its queued events, and the chain its writes run on. */
interface PgScope {
  readonly tx: TransactionSQL;
  readonly pending: Array<() => void>;
  /** Writes inside one transaction run one after the other: each is a savepoint of the same connection. */
  chain: Promise<unknown>;
  /** Set at COMMIT or ROLLBACK: a promise chain that began inside carries on outside, on the pool. */
  ended: boolean;
}

/** A query handle: the pool, or the connection of the caller's transaction. */
export type Queryable = SQL;

/** The URL with its password replaced, for logs and health. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "postgres://(unparseable url)";
  }
}

/**
 * The Postgres store's connection pool (Bun.sql) and its write path. A write is one statement in
 * autocommit, or one transaction, and its bus events are published after COMMIT; inside
 * `transaction(fn)` every repository write is a savepoint of that transaction (so a caught failure
 * undoes only itself, as on SQLite), run one after the other on its connection. Unlike SQLite, calls
 * from other async contexts do not wait: they run on other pooled connections, and PostgreSQL's own
 * isolation keeps the open transaction's rows from them.
 */
export class PgStoreDatabase {
  readonly sql: SQL;
  /** The URL without its password. */
  readonly url: string;
  readonly now: () => number;
  readonly #bus: BusPublisher | undefined;
  readonly #logger: Logger | undefined;
  readonly #scope = new AsyncLocalStorage<PgScope>();
  readonly #listens = new Set<{ unlisten(): Promise<void> }>();
  #closed = false;

  constructor(options: PgStoreDatabaseOptions) {
    this.sql = new SQL(options.url, {
      max: options.maxConnections,
      // Seconds; an idle pooled connection is closed after a while, a busy one never.
      idleTimeout: 60,
      connectionTimeout: 10,
    });
    this.url = redactUrl(options.url);
    this.now = options.clock ?? Date.now;
    this.#bus = options.bus;
    this.#logger = options.logger;
  }

  /** True once `close` has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The handle a read should use: the caller's transaction, or the pool. */
  get q(): Queryable {
    this.#assertOpen();
    return this.#open()?.tx ?? this.sql;
  }

  /** Whether the caller runs inside `transaction(fn)`. */
  get inTransaction(): boolean {
    return this.#open() !== undefined;
  }

  /**
   * One atomic write. `single: true` says `fn` runs exactly one statement, which autocommit makes
   * atomic by itself (one round trip instead of three); otherwise it gets a transaction. Inside an
   * open `transaction` it is a savepoint either way, because a failed statement would otherwise
   * abort the caller's whole transaction. Events go out after the (outer) COMMIT.
   */
  async write<T>(
    fn: (q: Queryable, emit: Emit) => Promise<T>,
    options: { single?: boolean } = {},
  ): Promise<T> {
    this.#assertOpen();
    const scope = this.#open();
    if (scope !== undefined) return this.#writeInside(scope, fn);
    const pending: Array<() => void> = [];
    const emit: Emit = (event, payload) => {
      pending.push(() => this.#bus?.publish(event, payload));
    };
    const result = options.single
      ? await fn(this.sql, emit)
      : ((await this.sql.begin((tx) => fn(tx, emit))) as T);
    this.#publish(pending);
    return result;
  }

  /**
   * Runs `fn` as one transaction that spans its awaits: repository calls and extension queries made
   * from its async context join it. Events are published after COMMIT, in order; a throw rolls back
   * and publishes nothing. Does not nest.
   */
  async transaction<T>(fn: (emit: Emit) => T | Promise<T>): Promise<T> {
    this.#assertOpen();
    if (this.#open() !== undefined) {
      throw new StoreError(
        "conflict",
        "store.transaction does not nest: this call is already inside a transaction, so make its reads and writes directly",
      );
    }
    let scope: PgScope | undefined;
    let result: T;
    try {
      result = (await this.sql.begin(async (tx) => {
        const open: PgScope = { tx, pending: [], chain: Promise.resolve(), ended: false };
        scope = open;
        const emit: Emit = (event, payload) => {
          open.pending.push(() => this.#bus?.publish(event, payload));
        };
        const value = await this.#scope.run(open, () => fn(emit));
        // a write still queued would otherwise run after COMMIT, on a closed transaction
        await open.chain.catch(() => {});
        return value;
      })) as T;
    } finally {
      if (scope !== undefined) scope.ended = true;
    }
    if (scope !== undefined) this.#publish(scope.pending);
    return result;
  }

  /**
   * Runs one statement of an extension's handle: inside the caller's transaction, queued after its
   * writes so far (one connection runs one thing at a time), or on the pool.
   */
  async statement<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    this.#assertOpen();
    const scope = this.#open();
    if (scope === undefined) return fn(this.sql);
    const run = () => fn(scope.tx);
    const result = scope.chain.then(run, run);
    scope.chain = result.catch(() => {});
    return result;
  }

  /**
   * Sends a notification; inside a transaction it is delivered at COMMIT (and never on rollback),
   * which is what makes it safe to announce a change from within the change.
   */
  async notify(channel: string, payload: string): Promise<void> {
    await this.q`select pg_notify(${channel}, ${payload})`;
  }

  /**
   * Listens on a channel (one dedicated connection for all channels, reconnected by Bun.sql with
   * backoff; `onListen` runs after the LISTEN and again after every reconnect, when notifications may
   * have been missed). Handlers must not throw; one that does is logged. Returns the unlisten.
   */
  async listen(
    channel: string,
    onNotify: (payload: string) => void,
    onListen?: () => void,
  ): Promise<() => Promise<void>> {
    this.#assertOpen();
    const guard = (what: string, fn: () => void) => (): void => {
      try {
        fn();
      } catch (error) {
        this.#logger?.error(`${what} handler for channel ${channel} threw`, { err: error });
      }
    };
    const subscription = await this.sql.listen(
      channel,
      (payload) => guard("notification", () => onNotify(payload))(),
      onListen === undefined ? undefined : guard("listen", onListen),
    );
    this.#listens.add(subscription);
    return async () => {
      if (!this.#listens.delete(subscription)) return;
      await subscription.unlisten();
    };
  }

  /** Ends the listens and closes the pool (waiting briefly for queries in flight); idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const subscription of [...this.#listens]) {
      this.#listens.delete(subscription);
      await subscription.unlisten().catch(() => {});
    }
    await this.sql.close({ timeout: 5 });
  }

  /** The caller's transaction while it is still open. */
  #open(): PgScope | undefined {
    const scope = this.#scope.getStore();
    return scope === undefined || scope.ended ? undefined : scope;
  }

  async #writeInside<T>(scope: PgScope, fn: (q: Queryable, emit: Emit) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const mark = scope.pending.length;
      const emit: Emit = (event, payload) => {
        scope.pending.push(() => this.#bus?.publish(event, payload));
      };
      try {
        return (await scope.tx.savepoint((sp) => fn(sp, emit))) as T;
      } catch (error) {
        scope.pending.length = mark;
        throw error;
      }
    };
    const result = scope.chain.then(run, run);
    scope.chain = result.catch(() => {});
    return result;
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
    if (this.#closed) throw new StoreError("store_closed", `the conversation store (${this.url}) is closed`);
  }
}

/** The SQLSTATE of a PostgreSQL error (drizzle wraps driver errors, so `cause` is followed). */
export function pgCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const errno = (current as { errno?: unknown }).errno;
    if (typeof errno === "string" && /^[0-9A-Z]{5}$/.test(errno)) return errno;
    current = current.cause;
  }
  return undefined;
}

/** SQLSTATEs the repositories turn into their own errors. */
export const pgErrors = {
  uniqueViolation: "23505",
  foreignKeyViolation: "23503",
  checkViolation: "23514",
} as const;
