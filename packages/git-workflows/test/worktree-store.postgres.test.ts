import { describe } from "bun:test";
import { reusableTestDatabase, type TestDatabase } from "@dispatch/conversation-store/testing";
import { worktreeHost } from "./tables.ts";
import { worktreeStoreContract } from "./worktree-store-contract.ts";

// The same contract on PostgreSQL, with the cluster cases: several hosts (stores) on one database.
let database: TestDatabase | undefined;
describe("WorktreeStore on Postgres", () =>
  worktreeStoreContract({
    shared: true,
    async start(n, clock) {
      database = await reusableTestDatabase();
      const url = database.url;
      const hosts = [];
      for (let i = 0; i < n; i++) hosts.push(await worktreeHost(clock, { storeUrl: url }));
      return hosts;
    },
    async cleanup() {
      await database?.drop();
      database = undefined;
    },
  }));
