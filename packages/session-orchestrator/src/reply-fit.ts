import type { AssistantPart } from "./model-step.ts";

/** How much of an over-long reply was kept, for the turn's final event. */
export interface ReplyTruncation {
  /** UTF-8 bytes of text the model wrote in the step. */
  bytes: number;
  /** UTF-8 bytes of it kept in the stored message (before the marker). */
  keptBytes: number;
}

/**
 * Fits an assistant message's text into `maxBytes` (the store's limit per message) so that the reply
 * is always stored: text past the limit is cut at a character boundary and a marker says how much was
 * cut and where all of it is (the conversation's `text.delta` events, which hold every byte streamed).
 * The marker's own bytes count against the limit. Tool-call parts are kept as they are.
 */
export function fitReply(
  parts: readonly AssistantPart[],
  maxBytes: number,
): { parts: AssistantPart[]; truncated?: ReplyTruncation } {
  const textParts = parts.filter((part) => part.type === "text");
  const text = textParts.map((part) => part.text).join("");
  // Each UTF-16 unit is at most 3 UTF-8 bytes, so short text needs no byte count.
  if (text.length * 3 <= maxBytes) return { parts: [...parts] };
  const bytes = Buffer.from(text, "utf8");
  if (bytes.byteLength <= maxBytes) return { parts: [...parts] };
  const marker = (kept: number) =>
    `\n\n[reply truncated: the model wrote ${bytes.byteLength} bytes, more than a stored message holds (${maxBytes}); the first ${kept} are kept here, and all of it is in this conversation's text.delta events]`;
  let kept = Math.max(0, maxBytes - Buffer.byteLength(marker(maxBytes), "utf8"));
  // Back off to the start of a character: a UTF-8 continuation byte is 0b10xxxxxx.
  while (kept > 0 && ((bytes[kept] as number) & 0xc0) === 0x80) kept--;
  const fitted = `${bytes.subarray(0, kept).toString("utf8")}${marker(kept)}`;
  const others = parts.filter((part) => part.type !== "text");
  return {
    parts: [{ type: "text", text: fitted }, ...others],
    truncated: { bytes: bytes.byteLength, keptBytes: kept },
  };
}
