import type { Contribution, Logger } from "@dispatch/kernel";
import { limits } from "@dispatch/wire";
import type { ExtensionMigrationReport } from "../extension-migrations.ts";
import { checkInteger } from "../field-checks.ts";
import { GroupCommit } from "../group-commit.ts";
import type { MigrationReport } from "../migrations.ts";
import type { BusPublisher } from "../store-database.ts";
import type { StoreSchemaContribution } from "../store-schemas.ts";
import type { ConversationStore, ExtensionDatabase } from "../types.ts";
import { PgConversationRepository } from "./pg-conversation-repository.ts";
import { PgStoreDatabase } from "./pg-database.ts";
import { PgEventFeed } from "./pg-event-feed.ts";
import { PgEventLog } from "./pg-event-log.ts";
import { pgExtensionDatabase, presentTables } from "./pg-extension-database.ts";
import { applyPostgresExtensionMigrations } from "./pg-extension-migrations.ts";
import { PgFollowupRepository } from "./pg-followup-repository.ts";
import { PgLockRepository } from "./pg-lock-repository.ts";
import { PgMessageRepository } from "./pg-message-repository.ts";
import { applyPostgresMigrations } from "./pg-migrations.ts";
import { PgTurnRepository } from "./pg-turn-repository.ts";
import { relayWorkspaceChanges } from "./pg-workspace-relay.ts";
import { PgWorkspaceRepository } from "./pg-workspace-repository.ts";

/** Options for `openPostgresStore`. */
export interface OpenPostgresStoreOptions {
  /** `postgres://user:password@host:port/database`. */
  url: string;
  /** Pooled connections (default 10); LISTEN uses one more. */
  maxConnections?: number;
  /** Receives this host's `workspace.*` events after each commit, and other hosts' as they arrive. */
  bus?: BusPublisher;
  logger?: Logger;
  /** Cap on a message's text in UTF-8 bytes (default 1 MiB). */
  maxMessageBytes?: number;
  /** Root of the `default` workspace when it is created (by the first host on a new database). */
  defaultWorkspaceRoot: string;
  /** Called after each committed append with the number of events; must not throw. */
  onAppended?: (count: number) => void;
  /** Time source in epoch ms. */
  clock?: () => number;
  /** Extensions' migrations (`migrations.postgres` of each), applied after the core's in this order. */
  schemas?: readonly Contribution<StoreSchemaContribution>[];
}

/** A store on a PostgreSQL database. */
export interface OpenedPostgresStore extends ConversationStore {
  /** The database URL without its password. */
  readonly path: string;
  readonly migrations: MigrationReport;
  readonly extensionMigrations: readonly ExtensionMigrationReport[];
  /** Stops listening and closes the pool; later calls fail with `store_closed`. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens the store on PostgreSQL: connects, applies the core's and the extensions' migrations under
 * an advisory lock (several hosts may start at once), makes sure the `default` workspace exists,
 * and starts listening for the other hosts' workspace changes and event announcements.
 */
export async function openPostgresStore(options: OpenPostgresStoreOptions): Promise<OpenedPostgresStore> {
  const maxMessageBytes = checkInteger(
    "maxMessageBytes",
    options.maxMessageBytes ?? limits.messageTextBytes,
    {
      min: 1,
    },
  );
  const maxConnections = checkInteger("maxConnections", options.maxConnections ?? 10, { min: 1 });
  const instanceId = `i_${Bun.randomUUIDv7()}`;
  const db = new PgStoreDatabase({
    url: options.url,
    maxConnections,
    bus: options.bus,
    logger: options.logger,
    clock: options.clock,
  });
  const feed = new PgEventFeed(db, instanceId, options.logger);
  try {
    const migrations = await applyPostgresMigrations(db);
    const { reports: extensionMigrations, withoutPostgres } = await applyPostgresExtensionMigrations(
      db,
      options.schemas ?? [],
    );
    if (withoutPostgres.length > 0) {
      options.logger?.warn(
        "these extensions keep tables only on SQLite (no migrations.postgres): they cannot run on this Postgres store",
        { extensions: withoutPostgres },
      );
    }
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
    const tables = await presentTables(db);
    const workspaces = new PgWorkspaceRepository(db, instanceId);
    const createdDefault = await workspaces.ensureDefault(options.defaultWorkspaceRoot);
    if (options.bus !== undefined) {
      await relayWorkspaceChanges({ db, instanceId, bus: options.bus, logger: options.logger });
    }
    await feed.start();
    options.logger?.info("conversation store opened", {
      url: db.url,
      instanceId,
      migrationsApplied: migrations.applied,
      createdDefaultWorkspace: createdDefault,
      extensionMigrations: extensionMigrations.map((r) => `${r.extensionId}: ${r.applied.length} applied`),
    });
    const handles = new WeakMap<object, unknown>();
    const group = new GroupCommit((fn) => db.transaction(() => fn()));
    return {
      dialect: "postgres",
      instanceId,
      path: db.url,
      migrations,
      extensionMigrations,
      workspaces,
      conversations: new PgConversationRepository(db),
      turns: new PgTurnRepository(db, instanceId, maxMessageBytes),
      messages: new PgMessageRepository(db, maxMessageBytes),
      events: new PgEventLog(db, { onAppended: options.onAppended }),
      locks: new PgLockRepository(db),
      followups: new PgFollowupRepository(db, maxMessageBytes),
      feed,
      notifications: {
        notify: (channel, payload) => db.notify(channel, payload),
        listen: (channel, onNotify, onListen) => db.listen(channel, onNotify, onListen),
      },
      transaction: (fn) => db.transaction((emit) => fn({ emit })),
      grouped: (fn, options) => group.join(fn, options),
      database<S extends Record<string, unknown>>(schema: S): ExtensionDatabase<S> {
        let handle = handles.get(schema);
        if (handle === undefined) {
          handle = pgExtensionDatabase(db, schema, tables);
          handles.set(schema, handle);
        }
        // The cache is keyed by the schema object itself, so the handle was built for this `S`.
        return handle as unknown as ExtensionDatabase<S>;
      },
      close: async () => {
        await feed.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}
