import { type PaneCapture, rowsOf } from "./pane-capture.ts";

/** New complete lines of a pane, and how many scrolled past before they could be read. */
export interface NewLines {
  lines: string[];
  skipped: number;
}

/**
 * Which lines of a pane have been reported, by absolute line number (the first line ever written is
 * 0; history lines keep their number as they scroll). A line is complete once the cursor is below
 * it. `next` is a high-water mark: a TUI that moves its cursor up and redraws does not report the
 * same lines again; only lines past the mark are new.
 */
export class LineTracker {
  #next: number;

  constructor(next = 0) {
    this.#next = next;
  }

  /** The first line not yet reported. */
  get next(): number {
    return this.#next;
  }

  /** History lines a capture must include so that every unreported line is in it (0: the visible rows do). */
  historyNeeded(capture: Pick<PaneCapture, "historySize" | "alternate">): number {
    if (capture.alternate) return 0;
    return Math.max(0, capture.historySize - this.#next);
  }

  /** Takes the complete lines past the mark from `capture` and moves the mark past them. */
  take(capture: PaneCapture): NewLines {
    if (capture.alternate) return { lines: [], skipped: 0 };
    const end = capture.historySize + capture.cursorY;
    if (end <= this.#next) return { lines: [], skipped: 0 };
    const start = Math.max(this.#next, capture.firstLine);
    const rows = rowsOf(capture);
    const lines = rows.slice(start - capture.firstLine, end - capture.firstLine);
    const skipped = start - this.#next;
    this.#next = end;
    return { lines, skipped };
  }

  /** Moves the mark (after tmux's history was cleared or the pane was respawned). */
  reset(next: number): void {
    this.#next = Math.max(0, next);
  }
}
