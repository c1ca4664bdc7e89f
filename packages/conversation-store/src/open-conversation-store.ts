import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Logger } from "@dispatch/kernel";
import { limits } from "@dispatch/wire";
import { SqliteConversationRepository } from "./conversation-repository.ts";
import { SqliteEventLog } from "./event-log.ts";
import { checkInteger } from "./field-checks.ts";
import { SqliteFollowupRepository } from "./followup-repository.ts";
import { SqliteLockRepository } from "./lock-repository.ts";
import { SqliteMessageRepository } from "./message-repository.ts";
import { applyMigrations, type MigrationReport } from "./migrations.ts";
import { prepareStatements } from "./statements.ts";
import { type BusPublisher, StoreDatabase } from "./store-database.ts";
import { SqliteTurnRepository } from "./turn-repository.ts";
import type { ConversationStore } from "./types.ts";
import { SqliteWorkspaceRepository } from "./workspace-repository.ts";

/** Options for `openConversationStore`. */
export interface OpenConversationStoreOptions {
  /** The SQLite file; its directory is created. */
  path: string;
  /** Receives `workspace.*` events after each commit. */
  bus?: BusPublisher;
  logger?: Logger;
  /** Cap on a message's text in UTF-8 bytes (default 1 MiB). */
  maxMessageBytes?: number;
  /** How long a write waits for another connection's lock (default 5000 ms). */
  busyTimeoutMs?: number;
  /** Root of the `default` workspace when it is created (default `<dir of path>/workspaces/default`). */
  defaultWorkspaceRoot?: string;
  /** Called after each committed append with the number of events; must not throw. */
  onAppended?: (count: number) => void;
  /** Time source in epoch ms (tests pin it). */
  clock?: () => number;
}

/** A store bound to one open database file. */
export interface OpenedConversationStore extends ConversationStore {
  /** Absolute path of the database file. */
  readonly path: string;
  /** What opening did to the schema. */
  readonly migrations: MigrationReport;
  /** Checkpoints and closes the database; later calls fail with `store_closed`. Idempotent. */
  close(): void;
}

/**
 * Opens (creating if needed) the SQLite database at `path`, applies migrations, makes sure the `default`
 * workspace exists, and returns the store. One per file per process.
 */
export function openConversationStore(options: OpenConversationStoreOptions): OpenedConversationStore {
  const maxMessageBytes = checkInteger(
    "maxMessageBytes",
    options.maxMessageBytes ?? limits.messageTextBytes,
    {
      min: 1,
    },
  );
  const busyTimeoutMs = checkInteger("busyTimeoutMs", options.busyTimeoutMs ?? 5000, { min: 0 });
  const path = resolve(options.path);
  mkdirSync(dirname(path), { recursive: true });
  const db = StoreDatabase.open({
    path,
    busyTimeoutMs,
    bus: options.bus,
    logger: options.logger,
    clock: options.clock,
  });
  try {
    const migrations = applyMigrations(db.sqlite, db.orm);
    const statements = prepareStatements(db.orm);
    const workspaces = new SqliteWorkspaceRepository(db);
    const createdDefault = workspaces.ensureDefault(
      options.defaultWorkspaceRoot ?? join(dirname(path), "workspaces", "default"),
    );
    options.logger?.info("conversation store opened", {
      path,
      migrationsApplied: migrations.applied,
      baselined: migrations.baselined,
      createdDefaultWorkspace: createdDefault,
    });
    return {
      path,
      migrations,
      workspaces,
      conversations: new SqliteConversationRepository(db),
      turns: new SqliteTurnRepository(db, statements, maxMessageBytes),
      messages: new SqliteMessageRepository(db, statements, maxMessageBytes),
      events: new SqliteEventLog(db, { onAppended: options.onAppended }),
      locks: new SqliteLockRepository(db),
      followups: new SqliteFollowupRepository(db, maxMessageBytes),
      close: () => db.close(),
    };
  } catch (error) {
    db.close();
    throw error;
  }
}
