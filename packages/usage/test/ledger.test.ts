import { describe } from "bun:test";
import { ledgerCases } from "./ledger-cases.ts";

describe("the ledger on SQLite", () => ledgerCases());
