import { describe } from "bun:test";
import { maintenanceCases } from "./maintenance-cases.ts";

describe("worktree clean-up on SQLite", () => maintenanceCases());
