import { readFileSync } from "node:fs";

/** The environment variable naming the test clock's offset file. */
export const clockOffsetEnv = "DISPATCH_TEST_CLOCK_OFFSET_FILE";

/**
 * The clock budgets and usage records use: `Date.now()`, plus, when `DISPATCH_TEST_CLOCK_OFFSET_FILE`
 * names a file, the number of milliseconds written in it (read at every call, so a test moves the
 * host's day by rewriting the file; a missing or empty file is 0). For tests only: it moves nothing
 * but this extension's days.
 */
export function budgetClock(env: Readonly<Record<string, string | undefined>> = process.env): () => number {
  const file = env[clockOffsetEnv];
  if (file === undefined || file === "") return Date.now;
  return () => Date.now() + readOffset(file);
}

function readOffset(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch {
    return 0;
  }
  const offset = Number(text);
  if (text !== "" && !Number.isFinite(offset)) {
    throw new Error(
      `${clockOffsetEnv} names ${file}, which must hold a number of milliseconds, not "${text.slice(0, 40)}"`,
    );
  }
  return offset;
}
