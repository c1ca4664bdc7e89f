import { expect, test } from "bun:test";
import { z } from "zod";
import { toolSpecFromZod } from "./tool-spec.ts";

test("toolSpecFromZod produces a draft-7 object schema with required fields and descriptions", () => {
  const spec = toolSpecFromZod(
    "edit_file",
    "Replaces one exact, unique match",
    z.object({
      path: z.string().describe("file path"),
      old: z.string(),
      new: z.string(),
      count: z.number().int().default(1),
    }),
  );
  expect(spec.name).toBe("edit_file");
  expect(spec.description).toBe("Replaces one exact, unique match");
  expect(spec.inputSchema).not.toHaveProperty("$schema");
  expect(spec.inputSchema).toMatchObject({
    type: "object",
    properties: {
      path: { type: "string", description: "file path" },
      count: { type: "integer", default: 1 },
    },
  });
  // Input side: a field with a default is not required from the model.
  expect(spec.inputSchema.required).toEqual(["path", "old", "new"]);
});
