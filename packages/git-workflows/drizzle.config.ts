import { defineConfig } from "drizzle-kit";

// Run from this directory: `bun x drizzle-kit generate --name <what_changed>`.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/schema.ts",
  out: "./drizzle",
});
