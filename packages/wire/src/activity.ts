import { z } from "zod";

const IsoTime = z.string().describe("ISO-8601 time");

/**
 * One entry of the host-wide activity feed (DESIGN §18). `id` is `<boot>.<n>`: `n` counts up from 1
 * in each host process and `boot` names that process, so an SSE client resuming with an id from an
 * earlier process gets everything the new one holds instead of skipping it.
 */
export const ActivityEntry = z.object({
  id: z.string(),
  at: IsoTime,
  /** What happened, for example `turn.started`, `turn.finished`, `workspace.starred`, `task.failed`. */
  type: z.string(),
  /** The extension that recorded it. */
  source: z.string(),
  /** One line for people: `turn completed in "docs"`. */
  summary: z.string(),
  workspaceId: z.string().nullable(),
  conversationId: z.string().nullable(),
  turnId: z.string().nullable(),
  taskId: z.string().nullable(),
  /** Details that depend on `type` (a turn's final status, a task's title). */
  data: z.record(z.string(), z.unknown()),
});
export type ActivityEntry = z.infer<typeof ActivityEntry>;

/** `GET /activity`: the newest entries first (at most 100), and the id of the newest one. */
export const ActivityList = z.object({
  entries: z.array(ActivityEntry),
  /** Resume `GET /activity/stream?after=` from here to miss nothing after this answer; null when empty. */
  lastId: z.string().nullable(),
});
export type ActivityList = z.infer<typeof ActivityList>;
