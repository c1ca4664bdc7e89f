import { z } from "zod";

/** One `models` entry: a model id, or `{ id, contextWindow }` for a model whose window is known. */
export const modelEntrySchema = z.union([
  z.string().min(1),
  z
    .object({
      id: z.string().min(1),
      /** Tokens the model takes in one call (prompt and answer); compaction keeps prompts under it. */
      contextWindow: z.number().int().min(1).optional(),
    })
    .strict(),
]);
/** One `models` entry, parsed. */
export type ModelEntry = z.output<typeof modelEntrySchema>;

/** A provider's `models` list; plain strings stay valid beside `{ id, contextWindow }` entries. */
export const modelListSchema = z.array(modelEntrySchema).default([]);

/** The model ids of a `models` list, in order. */
export function modelIds(models: readonly ModelEntry[]): string[] {
  return models.map((entry) => (typeof entry === "string" ? entry : entry.id));
}

/** The context windows a `models` list gives, by model id (the first entry of an id wins). */
export function contextWindowsOf(models: readonly ModelEntry[]): Record<string, number> {
  const windows: Record<string, number> = {};
  for (const entry of models) {
    if (typeof entry === "string" || entry.contextWindow === undefined || entry.id in windows) continue;
    windows[entry.id] = entry.contextWindow;
  }
  return windows;
}
