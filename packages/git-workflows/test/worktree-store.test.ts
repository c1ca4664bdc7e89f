import { describe } from "bun:test";
import { sqliteHarness, worktreeStoreContract } from "./worktree-store-contract.ts";

describe("WorktreeStore on SQLite", () => worktreeStoreContract(sqliteHarness));
