import { defineConfig } from "drizzle-kit";

// The cluster-backed manager's tables (Postgres only). From this directory:
// `bun x drizzle-kit generate --config drizzle.postgres.config.ts --name <what_changed>`.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/cluster/schema.ts",
  out: "./drizzle-postgres",
});
