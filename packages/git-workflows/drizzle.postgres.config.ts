import { defineConfig } from "drizzle-kit";

// The Postgres migrations. Run from this directory:
// `bun x drizzle-kit generate --config drizzle.postgres.config.ts --name <what_changed>`.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/pg-schema.ts",
  out: "./drizzle-postgres",
});
