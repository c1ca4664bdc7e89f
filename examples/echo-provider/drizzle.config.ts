import { defineConfig } from "drizzle-kit";

// From this directory: `bun x drizzle-kit generate --name <what_changed>`; commit what it writes.
export default defineConfig({ dialect: "sqlite", schema: "./src/schema.ts", out: "./drizzle" });
