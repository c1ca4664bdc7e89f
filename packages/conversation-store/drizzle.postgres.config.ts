import { defineConfig } from "drizzle-kit";

// The Postgres store's migrations. Run from this directory:
// `bun x drizzle-kit generate --config drizzle.postgres.config.ts --name <what_changed>` (see README.md).
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/postgres/schema.ts",
  out: "./drizzle-postgres",
});
