import type { WireError } from "./scenario.ts";
import { type StreamEncoder, sse, type WireFinish, type WireFormat } from "./wire-format.ts";

const stopReasons: Record<WireFinish, string> = {
  stop: "end_turn",
  "tool-calls": "tool_use",
  length: "max_tokens",
};

/** Default error type per status, as the Messages API names them. */
function defaultError(status: number): WireError {
  if (status === 401) return { type: "authentication_error", message: "invalid x-api-key" };
  if (status === 403) return { type: "permission_error", message: "permission denied" };
  if (status === 429)
    return { type: "rate_limit_error", message: "Number of requests has exceeded your rate limit" };
  if (status === 529) return { type: "overloaded_error", message: "Overloaded" };
  if (status === 400) return { type: "invalid_request_error", message: "bad request" };
  return { type: "api_error", message: `Internal server error (${status})` };
}

/** The Anthropic Messages API streaming format: `message_start`, content blocks, `message_delta`, `message_stop`. */
export const anthropicWire: WireFormat = {
  name: "anthropic",
  basePath: "/v1",
  matches: (path) => path === "/v1/messages",
  errorBody: (status, error) => ({ type: "error", error: error ?? defaultError(status) }),
  createEncoder(model): StreamEncoder {
    let index = -1;
    let open: "text" | "tool" | null = null;
    let outputTokens = 0;
    const close = (): string[] => {
      if (open === null) return [];
      open = null;
      return [sse({ type: "content_block_stop", index }, "content_block_stop")];
    };
    return {
      start: () => [
        sse(
          {
            type: "message_start",
            message: {
              id: "msg_test_1",
              type: "message",
              role: "assistant",
              model,
              content: [],
              stop_reason: null,
              stop_sequence: null,
              usage: { input_tokens: 0, output_tokens: 1 },
            },
          },
          "message_start",
        ),
      ],
      text(text) {
        outputTokens += 1;
        const out: string[] = [];
        if (open !== "text") {
          out.push(...close());
          index += 1;
          open = "text";
          out.push(
            sse(
              { type: "content_block_start", index, content_block: { type: "text", text: "" } },
              "content_block_start",
            ),
          );
        }
        out.push(
          sse(
            { type: "content_block_delta", index, delta: { type: "text_delta", text } },
            "content_block_delta",
          ),
        );
        return out;
      },
      toolStart(id, name) {
        const out = close();
        index += 1;
        open = "tool";
        out.push(
          sse(
            { type: "content_block_start", index, content_block: { type: "tool_use", id, name, input: {} } },
            "content_block_start",
          ),
        );
        return out;
      },
      toolArgs(piece) {
        outputTokens += 1;
        return [
          sse(
            { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: piece } },
            "content_block_delta",
          ),
        ];
      },
      error: (error) => [
        sse({ type: "error", error: { type: error.type, message: error.message } }, "error"),
      ],
      finish(reason, usage) {
        return [
          ...close(),
          sse(
            {
              type: "message_delta",
              delta: { stop_reason: stopReasons[reason], stop_sequence: null },
              // Anthropic counts cache reads apart from `input_tokens`; the SDK adds them back up
              usage: {
                input_tokens: usage.input - (usage.cached ?? 0),
                output_tokens: usage.output || outputTokens,
                ...(usage.cached === undefined ? {} : { cache_read_input_tokens: usage.cached }),
              },
            },
            "message_delta",
          ),
          sse({ type: "message_stop" }, "message_stop"),
        ];
      },
    };
  },
};
