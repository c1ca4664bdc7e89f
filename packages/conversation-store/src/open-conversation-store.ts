import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Contribution, Logger } from "@dispatch/kernel";
import { limits } from "@dispatch/wire";
import { SqliteConversationRepository } from "./conversation-repository.ts";
import { SqliteEventLog } from "./event-log.ts";
import { extensionDatabase } from "./extension-database.ts";
import { applyExtensionMigrations, type ExtensionMigrationReport } from "./extension-migrations.ts";
import { checkInteger } from "./field-checks.ts";
import { SqliteFollowupRepository } from "./followup-repository.ts";
import { gated } from "./gated.ts";
import { GroupCommit } from "./group-commit.ts";
import { SqliteLockRepository } from "./lock-repository.ts";
import { SqliteMessageRepository } from "./message-repository.ts";
import { applyMigrations, type MigrationReport } from "./migrations.ts";
import { prepareStatements } from "./statements.ts";
import { type BusPublisher, StoreDatabase } from "./store-database.ts";
import type { StoreSchemaContribution } from "./store-schemas.ts";
import { SqliteTurnRepository } from "./turn-repository.ts";
import type { ConversationStore, EventFeed, ExtensionDatabase } from "./types.ts";
import { SqliteWorkspaceRepository } from "./workspace-repository.ts";

/** One host per SQLite file: there is nobody to announce events to, and nobody announces any. */
const inertFeed: EventFeed = {
  announce() {},
  subscribe: () => () => {},
};

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
  /**
   * Extensions' migrations (what `storeSchemasPoint` collected), applied after the core's in this
   * order: the kernel's activation order, so dependencies first.
   */
  schemas?: readonly Contribution<StoreSchemaContribution>[];
}

/** A store bound to one open database file. */
export interface OpenedConversationStore extends ConversationStore {
  /** Absolute path of the database file. */
  readonly path: string;
  /** What opening did to the schema. */
  readonly migrations: MigrationReport;
  /** What opening did to each contributing extension's tables, in the order they were migrated. */
  readonly extensionMigrations: readonly ExtensionMigrationReport[];
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
    const extensionMigrations = applyExtensionMigrations(db.sqlite, options.schemas ?? []);
    for (const report of extensionMigrations) {
      if (report.edited.length > 0) {
        options.logger?.warn(
          "extension migrations changed after they were applied; add a new migration instead",
          {
            ext: report.extensionId,
            edited: report.edited,
          },
        );
      }
    }
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
      extensionMigrations: extensionMigrations.map((r) => `${r.extensionId}: ${r.applied.length} applied`),
    });
    const handles = new WeakMap<object, unknown>();
    const group = new GroupCommit((fn) => db.transaction(() => fn()));
    return {
      dialect: "sqlite",
      instanceId: `i_${Bun.randomUUIDv7()}`,
      feed: inertFeed,
      path,
      migrations,
      extensionMigrations,
      workspaces: gated(db, workspaces),
      conversations: gated(db, new SqliteConversationRepository(db)),
      turns: gated(db, new SqliteTurnRepository(db, statements, maxMessageBytes)),
      messages: gated(db, new SqliteMessageRepository(db, statements, maxMessageBytes)),
      events: gated(db, new SqliteEventLog(db, { onAppended: options.onAppended })),
      locks: gated(db, new SqliteLockRepository(db)),
      followups: gated(db, new SqliteFollowupRepository(db, maxMessageBytes)),
      transaction: (fn) => db.transaction((emit) => fn({ emit })),
      grouped: (fn, options) => group.join(fn, options),
      database<S extends Record<string, unknown>>(schema: S): ExtensionDatabase<S> {
        let handle = handles.get(schema);
        if (handle === undefined) {
          handle = extensionDatabase(db, schema);
          handles.set(schema, handle);
        }
        // The cache is keyed by the schema object itself, so the handle was built for this `S`.
        return handle as unknown as ExtensionDatabase<S>;
      },
      close: () => db.close(),
    };
  } catch (error) {
    db.close();
    throw error;
  }
}
