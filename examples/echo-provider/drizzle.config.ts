// drizzle-kit's config, as a plain object so that this folder needs no drizzle-kit of its own. From
// this directory: `<checkout>/packages/conversation-store/node_modules/.bin/drizzle-kit generate
// --name <what_changed>` (or any drizzle-kit 0.31), then commit what it writes to drizzle/.
export default { dialect: "sqlite", schema: "./src/schema.ts", out: "./drizzle" };
