import type { ConversationEvent } from "@dispatch/client";

const oneLine = (text: string, max = 80) => {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

/** The main argument of a tool call, for a compact `[tool write_file a.txt]`. */
function callSummary(input: unknown): string {
  if (typeof input === "string") return oneLine(input, 60);
  if (typeof input !== "object" || input === null) return "";
  const record = input as Record<string, unknown>;
  const main = record.path ?? record.command ?? record.pattern ?? Object.values(record)[0];
  return typeof main === "string" ? oneLine(main, 60) : "";
}

/**
 * How the CLI shows an event: answer text as it streams, everything else as one bracketed line.
 * `text` is written as is (no newline); `line` on a line of its own; undefined for what is not shown.
 */
export function renderEvent(event: ConversationEvent): { text: string } | { line: string } | undefined {
  switch (event.type) {
    case "text.delta":
      return { text: event.data.text };
    case "tool.call":
      return {
        line: `[tool ${event.data.toolName}${callSummary(event.data.input) ? ` ${callSummary(event.data.input)}` : ""}]`,
      };
    case "tool.result":
      return {
        line: event.data.isError
          ? `[${event.data.toolName} failed: ${oneLine(event.data.output)}]`
          : `[${event.data.toolName} ok]`,
      };
    case "turn.waiting":
      return {
        line: `[waiting: ${event.data.reason}${event.data.retryInMs ? ` ${event.data.retryInMs} ms` : ""}]`,
      };
    case "turn.completed":
      return { line: "[completed]" };
    case "turn.failed":
      return { line: `[failed: ${oneLine(event.data.error, 200)}]` };
    case "turn.cancelled":
      return { line: "[cancelled]" };
    case "turn.interrupted":
      return { line: `[interrupted: ${event.data.reason}]` };
    case "agent.crashed":
      return { line: `[agent crashed: ${oneLine(event.data.reason)}]` };
    case "agent.started":
    case "agent.respawned":
      return { line: `[${event.type} ${event.data.agentId}]` };
    default:
      return undefined;
  }
}

/** A `tail` line: seq, type, and what `renderEvent` shows. */
export function tailLine(event: ConversationEvent): string {
  const shown = renderEvent(event);
  const detail = shown === undefined ? "" : "text" in shown ? JSON.stringify(shown.text) : shown.line;
  return `${event.seq} ${event.type}${detail === "" ? "" : ` ${detail}`}`;
}
