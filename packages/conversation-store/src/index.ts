export { type StoreConfig, storeConfigSchema } from "./config.ts";
export {
  type DialectDatabase,
  dialectDatabase,
  type PreparedStatement,
  prepareStatement,
} from "./dialect-database.ts";
export { eventPage } from "./event-log.ts";
export { conversationStoreExtension, databaseFileName } from "./extension.ts";
export { type ExtensionMigrationReport, extensionJournalTable } from "./extension-migrations.ts";
export { GroupCommit, type GroupedOptions, type Transact } from "./group-commit.ts";
export { type MigrationReport, migrationsFolder } from "./migrations.ts";
export {
  type OpenConversationStoreOptions,
  type OpenedConversationStore,
  openConversationStore,
} from "./open-conversation-store.ts";
export type { BusPublisher } from "./store-database.ts";
export { StoreError, type StoreErrorCode } from "./store-error.ts";
export {
  type FolderLocation,
  type StoreSchemaContribution,
  storeSchemasPoint,
  tablePrefix,
} from "./store-schemas.ts";
export {
  type ConversationRepository,
  type ConversationStore,
  conversationStoreRef,
  type EventFeed,
  type EventFeedListener,
  type EventLog,
  type ExtensionDatabase,
  type FileLock,
  type FollowupRepository,
  type LockRepository,
  type MessageRepository,
  type NewEvent,
  type Page,
  type PageRequest,
  type QueuedMessage,
  type StoreDialect,
  type StoreNotifications,
  type StoreTransaction,
  type Turn,
  type TurnRepository,
  type WorkspaceRepository,
} from "./types.ts";
export { defaultWorkspaceId } from "./workspace-repository.ts";
