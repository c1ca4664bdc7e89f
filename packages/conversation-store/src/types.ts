import { createServiceRef, type DispatchEvents, type EventName } from "@dispatch/kernel";
import type {
  Conversation,
  ConversationEvent,
  Message,
  MessagePart,
  PermissionDecision,
  PermissionRules,
  TurnStatus,
  Workspace,
} from "@dispatch/wire";
import type { PgTable } from "drizzle-orm/pg-core";
import type { PgRemoteDatabase } from "drizzle-orm/pg-proxy";
import type { SqliteRemoteDatabase } from "drizzle-orm/sqlite-proxy";
import type { GroupedOptions } from "./group-commit.ts";

/**
 * The store's repository contract. Every method is async so that a Postgres implementation can follow
 * without touching callers. Failures are `StoreError`s (a DispatchError) with codes:
 * `not_found`, `conflict`, `invalid_request` (validation; `details.field` names the field),
 * `invalid_transition` (a turn leaving a final state).
 */
export interface ConversationStore {
  /** Which database the store is on: SQLite (the default, one host) or PostgreSQL (`store.url`). */
  readonly dialect: StoreDialect;
  /**
   * This store's identity among the hosts that share its database: a fresh id at every open, so a
   * restarted host is a new instance. Turns (on Postgres) record the instance that claimed them.
   */
  readonly instanceId: string;
  readonly workspaces: WorkspaceRepository;
  readonly conversations: ConversationRepository;
  readonly turns: TurnRepository;
  readonly messages: MessageRepository;
  readonly events: EventLog;
  readonly locks: LockRepository;
  readonly followups: FollowupRepository;
  /** What the hosts sharing the database tell each other about published events (inert on SQLite). */
  readonly feed: EventFeed;
  /**
   * Notifications between the hosts that share the database, for extensions (PostgreSQL's
   * LISTEN/NOTIFY); absent on SQLite, where one host is all there is.
   */
  readonly notifications?: StoreNotifications;
  /**
   * Runs `fn` as one transaction across the core tables and the extensions' tables. Repository calls
   * and extension-handle queries made from `fn` (and what it awaits) are part of it; calls from
   * elsewhere wait until it ends. Bus events (`workspace.*`, and those queued with `tx.emit`) are
   * published after COMMIT, in order; when `fn` throws, everything is rolled back, nothing is
   * published, and the error is rethrown. Does not nest (`conflict`). Keep it short: it holds the
   * database's write lock, so do not await other work (a network call, another turn) inside it.
   * On Postgres, calls from elsewhere do not wait (they run on other connections and do not see its
   * rows until COMMIT), and a failed extension-handle statement inside it fails the whole transaction
   * (PostgreSQL aborts it); repository calls are savepoints there too.
   */
  transaction<T>(fn: (tx: StoreTransaction) => T | Promise<T>): Promise<T>;
  /**
   * Runs `fn` in the store's group commit: the calls made during one turn of the event loop, by every
   * caller (the event writer of every turn, the usage ledger's settles, claims on SQLite), run in one
   * transaction at the end of it, in the order they were made, so a call made after another commits
   * with it or after it. Resolves after COMMIT; a call that throws rejects alone (what it wrote before
   * the throw stays: each repository write is a savepoint), and a failed COMMIT rejects the whole
   * group. Use it for short writes (and reads) that many turns make at once; a write that must be atomic across
   * several statements, or that can lock rows another host's group holds (Postgres), wants
   * `transaction`.
   */
  grouped<T>(fn: () => T | Promise<T>, options?: GroupedOptions): Promise<T>;
  /**
   * A drizzle handle for an extension's own tables, typed for `schema`, on the store's one
   * connection (cached per schema object). Every table of `schema` must have been created by
   * migrations contributed through `storeSchemasPoint` (`not_found` otherwise); core tables are
   * refused (`invalid_request`): use the repositories. Transactions go through `transaction`, not
   * the handle's own `transaction`. Give a sqlite-core schema to the SQLite store and a pg-core one
   * to the Postgres store (see `dialect`); the other is refused (`invalid_request`).
   */
  database<S extends Record<string, unknown>>(schema: S): ExtensionDatabase<S>;
}

/**
 * Channels between the hosts on one Postgres database. Name channels after the extension
 * (`<id>_…`, like its tables); a payload is text under 8000 bytes.
 */
export interface StoreNotifications {
  /**
   * Sends `payload` to every listener of `channel` on every host, this one included. Inside
   * `store.transaction` it is delivered at COMMIT, and never on rollback.
   */
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Listens on `channel`; `onListen` runs once listening and again after each reconnect (when
   * notifications may have been lost: re-read what matters). Handlers must not throw. Resolves
   * to the function that stops listening; everything stops when the store closes.
   */
  listen(
    channel: string,
    onNotify: (payload: string) => void,
    onListen?: () => void,
  ): Promise<() => Promise<void>>;
}

/** The databases the store runs on. */
export type StoreDialect = "sqlite" | "postgres";

/**
 * Announcements of stored and published events between the hosts on one database: the
 * orchestrator announces what it published, and a host whose client follows a conversation run
 * elsewhere reads the announced events from the table. On SQLite (one host) it is inert.
 */
export interface EventFeed {
  /** Tells the other hosts that `conversationId`'s events up to `seq` are stored and published. Coalesced; never throws. */
  announce(conversationId: string, seq: number): void;
  /** Hears the other hosts' announcements; returns the function that stops listening. */
  subscribe(listener: EventFeedListener): () => void;
}

/** What an `EventFeed` subscriber is told. Both must not throw. */
export interface EventFeedListener {
  /** Another host stored and published `conversationId`'s events up to `seq`. */
  advanced(conversationId: string, seq: number): void;
  /** Announcements may have been missed (the feed's connection was re-established): re-read. */
  resync(): void;
}

/** What `ConversationStore.transaction` hands its callback. */
export interface StoreTransaction {
  /** Queues a bus event; it is published after COMMIT, in order, and dropped on rollback. */
  emit<K extends EventName>(event: K, payload: DispatchEvents[K]): void;
}

/**
 * The drizzle handle an extension gets for its tables: drizzle's async API, so every query is
 * awaited (`await db.select().from(t)`). For a sqlite-core schema it is drizzle's SQLite proxy
 * database; for a pg-core schema, drizzle's Postgres proxy database.
 */
export type ExtensionDatabase<S extends Record<string, unknown>> = [Extract<S[keyof S], PgTable>] extends [
  never,
]
  ? SqliteRemoteDatabase<S>
  : PgRemoteDatabase<S>;

/** One page of a list: at most the asked number of items, and where the next page starts. */
export interface Page<T> {
  items: T[];
  /** Opaque; null on the last page. */
  nextCursor: string | null;
}

/** Which page to read: at most `limit` items, after the item `cursor` (from the previous page) names. */
export interface PageRequest {
  limit: number;
  cursor?: string | undefined;
}

/** Workspaces; the `default` workspace always exists and cannot be deleted. */
export interface WorkspaceRepository {
  create(input: {
    id: string;
    name?: string;
    root: string;
    hostId?: string | null;
    network?: boolean | null;
    permissions?: PermissionRules;
  }): Promise<Workspace>;
  get(id: string): Promise<Workspace | undefined>;
  /** Starred first, then by name, then by id. */
  list(): Promise<Workspace[]>;
  /** One page of `list()`'s order; `invalid_request` for a cursor this list did not give out. */
  page(request: PageRequest): Promise<Page<Workspace>>;
  /** Changes the given fields; `permissions` replaces the rules as a whole. */
  update(
    id: string,
    patch: {
      name?: string;
      root?: string;
      hostId?: string | null;
      network?: boolean | null;
      permissions?: PermissionRules;
    },
  ): Promise<Workspace>;
  /**
   * Sets one permission rule of the workspace (read, merged and written atomically); publishes
   * `workspace.updated` when it changed anything.
   */
  setPermission(id: string, rule: string, decision: PermissionDecision): Promise<Workspace>;
  /** Idempotent; publishes `workspace.starred` only when the flag changed. */
  star(id: string): Promise<Workspace>;
  /** Idempotent; publishes `workspace.unstarred` only when the flag changed. */
  unstar(id: string): Promise<Workspace>;
  /** Refuses `default` with `conflict`; removes the workspace's conversations, turns, messages, events, locks. */
  delete(id: string): Promise<void>;
  starredIds(): Promise<string[]>;
}

/** Conversations belong to one workspace. */
export interface ConversationRepository {
  create(input: {
    workspaceId: string;
    title?: string | null;
    provider: string;
    model: string;
    /** `model` (default) or `<runner id>[:<argument>]`; the orchestrator checks it is installed. */
    runner?: string;
  }): Promise<Conversation>;
  get(id: string): Promise<Conversation | undefined>;
  /** Newest first; `not_found` when the workspace does not exist. */
  listByWorkspace(workspaceId: string): Promise<Conversation[]>;
  /** One page of `listByWorkspace`'s order. */
  pageByWorkspace(workspaceId: string, request: PageRequest): Promise<Page<Conversation>>;
}

/** A stored turn. Times are ISO-8601. */
export interface Turn {
  id: string;
  conversationId: string;
  status: TurnStatus;
  /** When the user's prompt arrived (epoch ms); the concurrency queue orders by it. */
  promptStartedAt: number;
  error: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Turns. Status changes are checked: nothing leaves a final state. */
export interface TurnRepository {
  /**
   * Atomically: refuses with `conversation_busy` when the conversation has a turn that is not final,
   * otherwise inserts a `queued` turn and the user's message. One step, so two callers cannot both win.
   */
  claim(input: {
    conversationId: string;
    text: string;
    promptStartedAt: number;
    /** A queued follow-up this turn starts: removed in the same transaction, its id becomes the message's. */
    followupId?: string;
    /**
     * Refuse (`conversation_busy`) while follow-ups are queued for the conversation, so a new message
     * cannot overtake them: the check is part of the claim's transaction.
     */
    refuseIfQueued?: boolean;
  }): Promise<{ turn: Turn; message: Message }>;
  get(id: string): Promise<Turn | undefined>;
  /** Throws `invalid_transition` if the turn is already final. */
  setStatus(id: string, status: TurnStatus, error?: string | null): Promise<Turn>;
  /** The non-final turn of a conversation, if any. */
  active(conversationId: string): Promise<Turn | undefined>;
  /** Every non-final turn in the store (used by crash recovery). */
  listUnfinished(): Promise<Turn[]>;
  /**
   * Takes over the unfinished turns claimed by store instance `instanceId` (a host that died) for
   * this store's instance, and returns them, oldest first; a turn another survivor took first is
   * not returned, so each is recovered once. On SQLite, where turns record no instance (one host
   * recovers every unfinished turn at start), it returns none.
   */
  adoptUnfinished(instanceId: string): Promise<Turn[]>;
}

/** Messages of a conversation, in insertion order. */
export interface MessageRepository {
  /** The most UTF-8 bytes the text parts of one message may hold together (`store.maxMessageBytes`). */
  readonly maxTextBytes: number;
  append(input: {
    conversationId: string;
    turnId: string | null;
    role: Message["role"];
    parts: MessagePart[];
  }): Promise<Message>;
  list(conversationId: string): Promise<Message[]>;
  /** One page of `list`'s order (oldest first); `not_found` when the conversation does not exist. */
  page(conversationId: string, request: PageRequest): Promise<Page<Message>>;
}

/** What a caller appends; the store assigns `seq` and `at`. */
export interface NewEvent {
  type: string;
  turnId: string | null;
  data: Record<string, unknown>;
}

/** The per-conversation event log: `seq` starts at 1, no gaps, no duplicates, even under concurrent appenders. */
export interface EventLog {
  append(conversationId: string, event: NewEvent): Promise<ConversationEvent>;
  /** One transaction for the whole batch; seqs are consecutive. */
  appendMany(conversationId: string, events: readonly NewEvent[]): Promise<ConversationEvent[]>;
  /** Events with `seq > afterSeq`, ascending, at most `limit` (default 1000). */
  listAfter(conversationId: string, afterSeq: number, limit?: number): Promise<ConversationEvent[]>;
  lastSeq(conversationId: string): Promise<number>;
}

/** A file lock held by a conversation's turn. */
export interface FileLock {
  workspaceId: string;
  path: string;
  conversationId: string;
  turnId: string;
  acquiredAt: number;
  expiresAt: number;
}

/** Locks for the workspace tools, keyed by (workspaceId, normalised path). */
export interface LockRepository {
  /** Takes or refreshes the lock; when another conversation holds an unexpired lock, returns it as `holder`. */
  acquire(input: {
    workspaceId: string;
    path: string;
    conversationId: string;
    turnId: string;
    ttlMs: number;
  }): Promise<{ ok: true; lock: FileLock } | { ok: false; holder: FileLock }>;
  releaseTurn(turnId: string): Promise<number>;
  /** Removes locks whose `expiresAt` is before `now`; returns how many. */
  sweepExpired(now: number): Promise<number>;
  list(workspaceId: string): Promise<FileLock[]>;
}

/** A follow-up message waiting for its conversation's active turn to end. */
export interface QueuedMessage {
  id: string;
  conversationId: string;
  text: string;
  createdAt: string;
}

/** Follow-ups posted with `queue: true`; each becomes the next turn of its conversation, in order. */
export interface FollowupRepository {
  /** `not_found` for a missing conversation; the text is checked like a message's. */
  enqueue(input: { conversationId: string; text: string }): Promise<QueuedMessage>;
  /** The oldest waiting follow-up of the conversation. */
  peek(conversationId: string): Promise<QueuedMessage | undefined>;
  /** Removes one (it started its turn); false when it was already gone. */
  remove(id: string): Promise<boolean>;
  /** Conversations that have follow-ups waiting (for start-up). */
  conversationsWithQueued(): Promise<string[]>;
}

/** The service the `conversation-store` extension provides. */
export const conversationStoreRef = createServiceRef<ConversationStore>("conversation-store");

declare module "@dispatch/kernel" {
  interface DispatchEvents {
    "workspace.created": { workspace: Workspace };
    "workspace.updated": { workspace: Workspace };
    "workspace.starred": { workspace: Workspace };
    "workspace.unstarred": { workspace: Workspace };
    "workspace.deleted": { id: string };
  }
}
