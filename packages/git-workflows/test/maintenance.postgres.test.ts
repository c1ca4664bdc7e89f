import { describe } from "bun:test";
import { reusableTestDatabase } from "@dispatch/conversation-store/testing";
import { maintenanceCases } from "./maintenance-cases.ts";

// The same turns, tasks, commits and clean-ups with the store (and the worktree rows) on PostgreSQL.
describe("worktree clean-up on Postgres", () => maintenanceCases(() => reusableTestDatabase()));
