import type { WireError } from "./scenario.ts";
import { type StreamEncoder, sse, type WireFinish, type WireFormat } from "./wire-format.ts";

const finishReasons: Record<WireFinish, string> = {
  stop: "stop",
  "tool-calls": "tool_calls",
  length: "length",
};

/** Default error per status, as OpenAI-style servers name them. */
function defaultError(status: number): WireError {
  if (status === 401)
    return { type: "invalid_request_error", code: "invalid_api_key", message: "Incorrect API key provided" };
  if (status === 403) return { type: "permission_error", message: "permission denied" };
  if (status === 429)
    return { type: "rate_limit_exceeded", code: "rate_limit_exceeded", message: "Rate limit reached" };
  if (status === 503) return { type: "server_error", message: "The server is overloaded or not ready yet." };
  if (status === 400) return { type: "invalid_request_error", message: "bad request" };
  return { type: "server_error", message: `Internal server error (${status})` };
}

/** The OpenAI chat-completions streaming format: `chat.completion.chunk` objects, a usage chunk, `[DONE]`. */
export const openaiWire: WireFormat = {
  name: "openai-compatible",
  basePath: "/v1",
  matches: (path) => path === "/v1/chat/completions",
  errorBody: (status, error) => {
    const e = error ?? defaultError(status);
    return { error: { message: e.message, type: e.type, param: null, code: e.code ?? null } };
  },
  createEncoder(model): StreamEncoder {
    const created = Math.floor(Date.now() / 1000);
    let toolIndex = -1;
    let outputTokens = 0;
    const chunk = (delta: Record<string, unknown>, finish: string | null = null): string =>
      sse({
        id: "chatcmpl-test-1",
        object: "chat.completion.chunk",
        created,
        model,
        choices: [{ index: 0, delta, finish_reason: finish }],
      });
    return {
      start: () => [chunk({ role: "assistant", content: "" })],
      text(text) {
        outputTokens += 1;
        return [chunk({ content: text })];
      },
      toolStart(id, name) {
        toolIndex += 1;
        return [
          chunk({
            tool_calls: [{ index: toolIndex, id, type: "function", function: { name, arguments: "" } }],
          }),
        ];
      },
      toolArgs(piece) {
        outputTokens += 1;
        return [chunk({ tool_calls: [{ index: toolIndex, function: { arguments: piece } }] })];
      },
      error: (error) => [
        sse({ error: { message: error.message, type: error.type, code: error.code ?? null } }),
      ],
      finish(reason, usage) {
        const output = usage.output || outputTokens;
        return [
          chunk({}, finishReasons[reason]),
          sse({
            id: "chatcmpl-test-1",
            object: "chat.completion.chunk",
            created,
            model,
            choices: [],
            usage: {
              prompt_tokens: usage.input,
              completion_tokens: output,
              total_tokens: usage.input + output,
              ...(usage.cached === undefined
                ? {}
                : { prompt_tokens_details: { cached_tokens: usage.cached } }),
            },
          }),
          sse("[DONE]"),
        ];
      },
    };
  },
};
