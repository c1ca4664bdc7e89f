/** Messages between `GrepMatcher` and its worker (`grep-worker.ts`). */

/** One file's bytes and the name its matches are printed under. */
export interface GrepFile {
  shown: string;
  data: Uint8Array;
}

/** Main thread to worker: search these files for at most `maxMatches` lines. */
export interface GrepRequest {
  pattern: string;
  flags: string;
  /** Longest line text shown per match. */
  maxLineChars: number;
  maxMatches: number;
  files: GrepFile[];
}

/** Worker to main thread: the matching lines of one request, as `path:line: text`. */
export type GrepReply = { ok: true; matches: string[] } | { ok: false; message: string };
