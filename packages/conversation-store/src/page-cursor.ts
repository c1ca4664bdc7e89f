import { z } from "zod";
import { invalidField } from "./store-error.ts";

/**
 * Where a page ended, by list: the sort key of its last item, so the next page starts right after it
 * however many rows are inserted or deleted meanwhile (keyset paging: no item is skipped or seen twice).
 * `k` names the list, so a cursor of one list is refused by another.
 */
const Position = z.discriminatedUnion("k", [
  /** Workspaces: starred, then name (case-insensitively, then exactly), then id. */
  z.object({ k: z.literal("workspaces"), starred: z.boolean(), name: z.string(), id: z.string() }).strict(),
  /** Conversations, newest first. */
  z.object({ k: z.literal("conversations"), createdAt: z.number().int(), id: z.string() }).strict(),
  /** Messages, oldest first; within a millisecond in insertion order (`rowid`). */
  z.object({ k: z.literal("messages"), createdAt: z.number().int(), row: z.number().int() }).strict(),
]);

/** A decoded cursor. */
export type PagePosition = z.infer<typeof Position>;
type Kind = PagePosition["k"];

/** The opaque cursor a page hands out: base64url of the position's JSON. */
export function encodeCursor(position: PagePosition): string {
  return Buffer.from(JSON.stringify(position), "utf8").toString("base64url");
}

/** The position in `cursor`; `invalid_request` naming `cursor` unless this list gave it out. */
export function decodeCursor<K extends Kind>(kind: K, cursor: string): Extract<PagePosition, { k: K }> {
  let parsed: ReturnType<typeof Position.safeParse> | undefined;
  try {
    parsed = Position.safeParse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
  } catch {
    parsed = undefined;
  }
  if (parsed?.success !== true || parsed.data.k !== kind) {
    throw invalidField(
      "cursor",
      `is not a cursor of this list of ${kind}; pass back the nextCursor it answered`,
    );
  }
  return parsed.data as Extract<PagePosition, { k: K }>;
}

/** The most items the store reads for one page; the HTTP edge holds callers to fewer. */
export const maxPageItems = 10_000;

/**
 * A page from rows read with `limit + 1`: the extra row only says whether another page follows, and
 * the cursor names the last item kept.
 */
export function pageFrom<R, T>(
  rows: readonly R[],
  limit: number,
  toItem: (row: R) => T,
  positionOf: (row: R) => PagePosition,
): { items: T[]; nextCursor: string | null } {
  const kept = rows.slice(0, limit);
  const last = kept.at(-1);
  const nextCursor = rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null;
  return { items: kept.map(toItem), nextCursor };
}
