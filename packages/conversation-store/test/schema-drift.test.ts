import { expect, test } from "bun:test";
import { join } from "node:path";
import { migrationsFolder } from "../src/index.ts";
import { postgresMigrationsFolder } from "../src/postgres/pg-migrations.ts";
import { migrationDrift } from "../src/testing/index.ts";

const packageDir = join(import.meta.dir, "..");

test("src/schema.ts and the committed migrations agree (drizzle-kit generate finds nothing to do)", async () => {
  const drift = await migrationDrift({
    dialect: "sqlite",
    schema: join(packageDir, "src", "schema.ts"),
    folder: migrationsFolder,
  });
  expect({ code: drift.code, errors: drift.errors }).toEqual({ code: 0, errors: "" });
  expect(drift.output).toContain("No schema changes");
  expect(drift.clean).toBe(true);
}, 30_000);

test("src/postgres/schema.ts and the committed Postgres migrations agree", async () => {
  const drift = await migrationDrift({
    dialect: "postgresql",
    schema: join(packageDir, "src", "postgres", "schema.ts"),
    folder: postgresMigrationsFolder,
  });
  expect({ code: drift.code, errors: drift.errors }).toEqual({ code: 0, errors: "" });
  expect(drift.output).toContain("No schema changes");
  expect(drift.clean).toBe(true);
}, 30_000);
