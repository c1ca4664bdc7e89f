import { messageOf } from "@dispatch/kernel";
import { z } from "zod";
import { aborted, raceAbort } from "./abortable.ts";
import type { ToolContext, ToolRegistry, ToolResult } from "./types.ts";

/**
 * Largest tool output sent back to the model. Tools cap their own output (workspace-tools at 256 KiB by
 * default, with a note saying so); this only guards against tools that do not, so it sits above theirs.
 */
export const maxModelOutputBytes = 512 * 1024;
/** Largest tool output copied into a `tool.result` event. */
export const maxEventOutputBytes = 16 * 1024;

/** A tool call as the model asked for it; `invalid` is set when the provider could not parse its input. */
export interface RequestedToolCall {
  toolCallId: string;
  toolName: string;
  input: unknown;
  invalid?: string;
}

/** A tool call's answer, as stored and sent back to the model. */
export interface ToolCallResult {
  toolCallId: string;
  toolName: string;
  output: string;
  isError: boolean;
}

/**
 * Runs one requested tool. Never throws: an unknown tool, invalid input, a throw, an invalid result
 * or an abort all become `isError` results, which go back to the model.
 */
export async function executeToolCall(
  call: RequestedToolCall,
  registry: Pick<ToolRegistry, "get" | "list">,
  context: ToolContext,
  abortedOutput: () => string,
): Promise<ToolCallResult> {
  const result = (output: string, isError: boolean): ToolCallResult => ({
    toolCallId: call.toolCallId,
    toolName: call.toolName,
    output: capText(output, maxModelOutputBytes),
    isError,
  });
  if (call.invalid !== undefined) {
    return result(`The call to "${call.toolName}" could not be parsed: ${call.invalid}`, true);
  }
  const tool = registry.get(call.toolName);
  if (tool === undefined) {
    const names = registry.list().map((t) => t.name);
    const available = names.length > 0 ? names.join(", ") : "none";
    return result(`Unknown tool "${call.toolName}". Available tools: ${available}.`, true);
  }
  const parsed = tool.input.safeParse(call.input);
  if (!parsed.success) {
    return result(`Invalid input for tool "${tool.name}":\n${z.prettifyError(parsed.error)}`, true);
  }
  if (context.signal.aborted) return result(abortedOutput(), true);
  let answer: ToolResult | typeof aborted;
  try {
    answer = await raceAbort(
      Promise.resolve().then(() => tool.run(parsed.data, context)),
      context.signal,
    );
  } catch (error) {
    return result(`Tool "${tool.name}" failed: ${messageOf(error)}`, true);
  }
  if (answer === aborted) return result(abortedOutput(), true);
  if (typeof answer !== "object" || answer === null || typeof answer.output !== "string") {
    return result(`Tool "${tool.name}" returned an invalid result (expected { output: string }).`, true);
  }
  return result(answer.output, answer.isError === true);
}

/** Cuts text to at most `maxBytes` of UTF-8 and says how much was left out. */
export function capText(text: string, maxBytes: number): string {
  // Each UTF-16 unit is at most 3 UTF-8 bytes, so short strings need no byte count.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, "utf8");
  if (bytes.byteLength <= maxBytes) return text;
  // Decoding a cut in the middle of a character yields U+FFFD at the end, which is acceptable here.
  const head = bytes.subarray(0, maxBytes).toString("utf8");
  return `${head}\n[output truncated: ${bytes.byteLength - maxBytes} more bytes not shown]`;
}

/** The data of a `tool.result` event: the result with its output capped for the event log. */
export function toolResultEventData(result: ToolCallResult): Record<string, unknown> {
  const output = capText(result.output, maxEventOutputBytes);
  return {
    toolCallId: result.toolCallId,
    toolName: result.toolName,
    output,
    isError: result.isError,
    ...(output.length === result.output.length ? {} : { truncated: true }),
  };
}
