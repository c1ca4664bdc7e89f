import type { PaneCapture } from "./pane-capture.ts";
import { rowsOf } from "./pane-capture.ts";

/** `screen.updated` carries at most this much of the visible pane (its last bytes). */
export const maxScreenBytes = 64 * 1024;

/** The visible rows of a capture as text, trailing blank rows dropped, cut to its last `maxBytes`. */
export function screenText(
  capture: PaneCapture,
  maxBytes = maxScreenBytes,
): { text: string; truncated: boolean } {
  const rows = rowsOf(capture).slice(
    capture.firstLine < capture.historySize ? capture.historySize - capture.firstLine : 0,
  );
  while (rows.length > 0 && rows.at(-1) === "") rows.pop();
  return capBytes(rows.join("\n"), maxBytes);
}

/** Keeps the last `maxBytes` of `text` (UTF-8), cut at a line start when one is near. */
export function capBytes(text: string, maxBytes: number): { text: string; truncated: boolean } {
  const bytes = Buffer.from(text);
  if (bytes.length <= maxBytes) return { text, truncated: false };
  let tail = bytes.subarray(bytes.length - maxBytes).toString("utf8");
  // a cut inside a multi-byte character decodes as U+FFFD; start after the first line break instead
  const newline = tail.indexOf("\n");
  if (newline >= 0 && newline < 1024) tail = tail.slice(newline + 1);
  return { text: tail, truncated: true };
}

/** The data of a `screen.updated` event. */
export function screenEvent(capture: PaneCapture): Record<string, unknown> {
  const { text, truncated } = screenText(capture);
  return {
    screen: text,
    ...(truncated ? { truncated: true } : {}),
    cols: capture.width,
    rows: capture.height,
    cursor: { x: capture.cursorX, y: capture.cursorY },
    ...(capture.alternate ? { alternate: true } : {}),
  };
}
