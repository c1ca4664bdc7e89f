import type { ModelRequest } from "./types.ts";

/**
 * Characters a token, where no tokenizer is at hand: about right for English prose, low for code and
 * non-Latin scripts (which take more tokens), so estimates made with it are rough by design.
 */
export const charsPerToken = 4;

/**
 * The JSON length of each message and tool spec once measured. A turn sizes its prompt at every step
 * (the usage reservation, then the token meter's calibration), and the prompt is mostly the same
 * objects each time: messages and specs are values, never changed once built.
 */
const jsonLengths = new WeakMap<object, number>();

function jsonLengthOf(value: object): number {
  let length = jsonLengths.get(value);
  if (length === undefined) {
    length = JSON.stringify(value).length;
    jsonLengths.set(value, length);
  }
  return length;
}

/** `JSON.stringify(items).length`, from the lengths of the items. */
function arrayJsonLength(items: readonly object[]): number {
  let length = 2 + Math.max(0, items.length - 1);
  for (const item of items) length += jsonLengthOf(item);
  return length;
}

/** The characters of a request's prompt as a provider receives it: system prompt, messages and tool schemas as JSON. */
export function promptChars(request: Pick<ModelRequest, "system" | "messages" | "tools">): number {
  const tools = request.tools.length === 0 ? 0 : arrayJsonLength(request.tools);
  return (request.system?.length ?? 0) + arrayJsonLength(request.messages) + tools;
}

/** Estimated tokens of a request's prompt: `promptChars / charsPerToken`, rounded up. */
export function estimatePromptTokens(request: Pick<ModelRequest, "system" | "messages" | "tools">): number {
  return Math.ceil(promptChars(request) / charsPerToken);
}

/** Estimated tokens of a piece of text (`charsPerToken` characters a token, rounded up). */
export function estimateTextTokens(text: string): number {
  return Math.ceil(text.length / charsPerToken);
}
