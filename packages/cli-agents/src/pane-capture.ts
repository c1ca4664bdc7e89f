/** What one capture of a pane says: where the cursor and history are, and the text of its rows. */
export interface PaneCapture {
  name: string;
  historySize: number;
  cursorX: number;
  cursorY: number;
  height: number;
  width: number;
  /** The application switched to the alternate screen (a full-screen TUI): no scrollback grows. */
  alternate: boolean;
  dead: boolean;
  /** The captured rows joined by "\n" (one per row, trailing newline included): what is hashed. */
  text: string;
  /** Absolute line number (history lines count from 0) of the first captured row. */
  firstLine: number;
}

/** Marks the line before each pane's rows; a control character no terminal row can start with by chance. */
const mark = "\x1f";
const metaFormat =
  "#{history_size} #{cursor_x} #{cursor_y} #{pane_height} #{pane_width} #{alternate_on} #{pane_dead}";

/** `display-message` printing one pane's marker line, then `capture-pane` printing its rows. */
export function captureCommands(name: string, historyLines = 0): string[] {
  const target = `=${name}:`;
  const range = historyLines > 0 ? ["-S", String(-historyLines), "-E", "-"] : [];
  return [
    "display-message",
    "-p",
    "-t",
    target,
    `${mark}${name} ${metaFormat}`,
    ";",
    "capture-pane",
    "-p",
    ...range,
    "-t",
    target,
  ];
}

/** Joins tmux commands into one client call's argv (tmux reads a lone ";" argument as a separator). */
export function chain(commands: readonly (readonly string[])[]): string[] {
  const argv: string[] = [];
  for (const command of commands) {
    if (argv.length > 0) argv.push(";");
    argv.push(...command);
  }
  return argv;
}

/**
 * Reads the output of chained `captureCommands`: each pane's marker line, then its rows. Stops at
 * the first incomplete pane (a later command failed). Rows are counted, never searched for, so no
 * row content can be mistaken for a marker. `historyLines` must match what was asked for each pane.
 */
export function parseCaptures(
  stdout: string,
  historyLines: (name: string) => number = () => 0,
): PaneCapture[] {
  const captures: PaneCapture[] = [];
  let at = 0;
  while (at < stdout.length && stdout[at] === mark) {
    const metaEnd = stdout.indexOf("\n", at);
    if (metaEnd < 0) break;
    const fields = stdout.slice(at + 1, metaEnd).split(" ");
    const [name, hs, cx, cy, h, w, alt, dead] = fields;
    const historySize = Number(hs);
    const height = Number(h);
    // display-message of a missing pane still prints, with empty fields; its capture then fails
    if (
      name === undefined ||
      hs === "" ||
      h === "" ||
      !Number.isFinite(historySize) ||
      !Number.isFinite(height)
    )
      break;
    const fromHistory = Math.min(historyLines(name), historySize);
    let end = metaEnd + 1;
    let complete = true;
    for (let row = 0; row < fromHistory + height; row++) {
      const newline = stdout.indexOf("\n", end);
      if (newline < 0) {
        complete = false;
        break;
      }
      end = newline + 1;
    }
    if (!complete) break;
    captures.push({
      name,
      historySize,
      cursorX: Number(cx),
      cursorY: Number(cy),
      height,
      width: Number(w),
      alternate: alt === "1",
      dead: dead === "1",
      text: stdout.slice(metaEnd + 1, end),
      firstLine: historySize - fromHistory,
    });
    at = end;
  }
  return captures;
}

/** The rows of a capture as lines (without the newline each row ends with). */
export function rowsOf(capture: PaneCapture): string[] {
  const rows = capture.text.split("\n");
  rows.pop();
  return rows;
}
