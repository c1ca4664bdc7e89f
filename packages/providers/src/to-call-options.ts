import type {
  JSONSchema7,
  LanguageModelV4CallOptions,
  LanguageModelV4FunctionTool,
  LanguageModelV4Message,
  LanguageModelV4TextPart,
  LanguageModelV4ToolCallPart,
} from "@ai-sdk/provider";
import type { ModelMessage, ModelRequest } from "./types.ts";

function toMessage(message: ModelMessage): LanguageModelV4Message | undefined {
  switch (message.role) {
    case "user":
      return { role: "user", content: [{ type: "text", text: message.content }] };
    case "assistant": {
      // Providers reject empty text blocks and empty assistant turns (Anthropic answers 400).
      const content: Array<LanguageModelV4TextPart | LanguageModelV4ToolCallPart> = [];
      for (const part of message.parts) {
        if (part.type === "tool-call") {
          content.push({
            type: "tool-call",
            toolCallId: part.toolCallId,
            toolName: part.toolName,
            input: part.input,
          });
        } else if (part.text !== "") content.push({ type: "text", text: part.text });
      }
      return content.length === 0 ? undefined : { role: "assistant", content };
    }
    case "tool":
      return {
        role: "tool",
        content: message.results.map((result) => ({
          type: "tool-result" as const,
          toolCallId: result.toolCallId,
          toolName: result.toolName,
          output: result.isError
            ? { type: "error-text" as const, value: result.output }
            : { type: "text" as const, value: result.output },
        })),
      };
  }
}

/** Maps our request to the AI SDK's language-model call options (tools as plain JSON schema, no execute). */
export function toCallOptions(request: ModelRequest, abortSignal: AbortSignal): LanguageModelV4CallOptions {
  const prompt: LanguageModelV4Message[] = [];
  if (request.system) prompt.push({ role: "system", content: request.system });
  for (const message of request.messages) {
    const converted = toMessage(message);
    if (converted) prompt.push(converted);
  }
  const tools: LanguageModelV4FunctionTool[] = request.tools.map((tool) => ({
    type: "function",
    name: tool.name,
    description: tool.description,
    // ToolSpec keeps the schema as a plain record; it was produced by z.toJSONSchema (draft-7).
    inputSchema: tool.inputSchema as JSONSchema7,
  }));
  return {
    prompt,
    abortSignal,
    ...(tools.length > 0 ? { tools, toolChoice: { type: "auto" as const } } : {}),
    ...(request.maxOutputTokens !== undefined ? { maxOutputTokens: request.maxOutputTokens } : {}),
  };
}
