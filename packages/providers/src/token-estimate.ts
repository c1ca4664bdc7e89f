import type { ModelRequest } from "./types.ts";

/**
 * Characters a token, where no tokenizer is at hand: about right for English prose, low for code and
 * non-Latin scripts (which take more tokens), so estimates made with it are rough by design.
 */
export const charsPerToken = 4;

/** The characters of a request's prompt as a provider receives it: system prompt, messages and tool schemas as JSON. */
export function promptChars(request: Pick<ModelRequest, "system" | "messages" | "tools">): number {
  const tools = request.tools.length === 0 ? 0 : JSON.stringify(request.tools).length;
  return (request.system?.length ?? 0) + JSON.stringify(request.messages).length + tools;
}

/** Estimated tokens of a request's prompt: `promptChars / charsPerToken`, rounded up. */
export function estimatePromptTokens(request: Pick<ModelRequest, "system" | "messages" | "tools">): number {
  return Math.ceil(promptChars(request) / charsPerToken);
}

/** Estimated tokens of a piece of text (`charsPerToken` characters a token, rounded up). */
export function estimateTextTokens(text: string): number {
  return Math.ceil(text.length / charsPerToken);
}
