import { z } from "zod";
import type { ToolSpec } from "./types.ts";

/**
 * A tool as the model sees it, with its input schema generated from zod (JSON Schema draft-7, the
 * input side of transforms and defaults, definitions inlined) the way the AI SDK's own zod bridge
 * produces it.
 */
export function toolSpecFromZod(name: string, description: string, schema: z.ZodType): ToolSpec {
  const { $schema: _dialect, ...inputSchema } = z.toJSONSchema(schema, {
    target: "draft-7",
    io: "input",
    reused: "inline",
  }) as Record<string, unknown>;
  return { name, description, inputSchema };
}
