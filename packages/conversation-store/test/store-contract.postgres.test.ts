import { afterEach } from "bun:test";
import { conversationsContract } from "./contract/conversations.ts";
import { eventLogContract } from "./contract/events.ts";
import { postgresHarness } from "./contract/harness.ts";
import { locksContract } from "./contract/locks.ts";
import { messagesContract } from "./contract/messages.ts";
import { paginationContract } from "./contract/pagination.ts";
import { turnsContract } from "./contract/turns.ts";
import { workspacePermissionsContract } from "./contract/workspace-permissions.ts";
import { workspacesContract } from "./contract/workspaces.ts";

// The repository contract on PostgreSQL (a throwaway server; see src/testing/postgres-server.ts);
// test/store-contract.test.ts runs the same on SQLite.
afterEach(() => postgresHarness.cleanup());
for (const contract of [
  workspacesContract,
  workspacePermissionsContract,
  conversationsContract,
  turnsContract,
  messagesContract,
  eventLogContract,
  locksContract,
  paginationContract,
]) {
  contract(postgresHarness);
}
