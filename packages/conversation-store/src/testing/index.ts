/**
 * Test support for the Postgres store: a throwaway PostgreSQL server (initdb in a temp dir, a
 * loopback port) and databases on it for each test.
 */

export { extensionMigrationDrift, type MigrationDrift, migrationDrift } from "./migration-drift.ts";
export {
  createTestDatabase,
  type PostgresServer,
  postgresBinDir,
  reusableTestDatabase,
  startPostgresServer,
  type TestDatabase,
  testPostgresUrl,
  testPostgresUrlVariable,
} from "./postgres-server.ts";
export { schemaTwinDifferences } from "./schema-twins.ts";
