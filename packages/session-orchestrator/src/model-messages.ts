import type { ModelMessage } from "@dispatch/providers";
import type { Message } from "@dispatch/wire";

/** The tool result a call gets when its turn ended before the tool answered. */
export const missingResultOutput = "The tool call was interrupted before it finished; it has no result.";

/**
 * Maps stored messages to what a provider receives. Provider APIs refuse an assistant tool call without
 * a result, and a crash or shutdown can leave exactly that in the history; such calls get an error
 * result here so a later turn still works.
 */
export function toModelMessages(messages: readonly Message[]): ModelMessage[] {
  const out: ModelMessage[] = [];
  let unanswered: Array<{ toolCallId: string; toolName: string }> = [];
  const closeUnanswered = (answered: ReadonlySet<string>) => {
    const missing = unanswered.filter((call) => !answered.has(call.toolCallId));
    unanswered = [];
    return missing.map((call) => ({ ...call, output: missingResultOutput, isError: true }));
  };
  for (const message of messages) {
    if (message.role === "tool") {
      const results = message.parts.flatMap((part) =>
        part.type === "tool-result"
          ? [
              {
                toolCallId: part.toolCallId,
                toolName: part.toolName,
                output: part.output,
                isError: part.isError,
              },
            ]
          : [],
      );
      const missing = closeUnanswered(new Set(results.map((r) => r.toolCallId)));
      out.push({ role: "tool", results: [...results, ...missing] });
      continue;
    }
    const missing = closeUnanswered(new Set());
    if (missing.length > 0) out.push({ role: "tool", results: missing });
    if (message.role === "user") {
      const content = message.parts.map((part) => (part.type === "text" ? part.text : "")).join("");
      out.push({ role: "user", content });
      continue;
    }
    const parts: Extract<ModelMessage, { role: "assistant" }>["parts"] = [];
    for (const part of message.parts) {
      if (part.type === "text") parts.push({ type: "text", text: part.text });
      else if (part.type === "tool-call") {
        parts.push({
          type: "tool-call",
          toolCallId: part.toolCallId,
          toolName: part.toolName,
          input: part.input,
        });
        unanswered.push({ toolCallId: part.toolCallId, toolName: part.toolName });
      }
    }
    if (parts.length > 0) out.push({ role: "assistant", parts });
  }
  const missing = closeUnanswered(new Set());
  if (missing.length > 0) out.push({ role: "tool", results: missing });
  return out;
}
