import { defineProviderKind, type ModelRequest, type StreamPart } from "@dispatch/providers";
import { z } from "zod";

/** What an echo provider needs at call time: a way to count the call, resolved once the extension runs. */
export interface CallCounter {
  /** Counts one call of `providerId`; resolves with its new total, or an error message. */
  count(providerId: string): Promise<{ ok: true; calls: number } | { ok: false; message: string }>;
}

/** The text of the last user message, which an echo provider answers with. */
function lastUserText(request: ModelRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i];
    if (message?.role === "user") return message.content;
  }
  return "";
}

/** Splits `text` into `pieces` parts of near-equal length (fewer when the text is shorter). */
function split(text: string, pieces: number): string[] {
  const chars = Array.from(text); // by code point, so a piece never ends inside a surrogate pair
  const size = Math.max(1, Math.ceil(chars.length / pieces));
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(""));
  return out;
}

/**
 * The `echo` provider kind: each call answers with the last user message's text (after `prefix`),
 * streamed in `chunks` text deltas, and counts itself through `counter()`. `counter` returns
 * undefined until the echo extension has activated (the kind is built before that).
 */
export function echoKind(counter: () => CallCounter | undefined) {
  return defineProviderKind({
    kind: "echo",
    options: z.object({
      /** Put before the echoed text, e.g. "echo: ". */
      prefix: z.string().max(200).default(""),
      /** How many text deltas the answer is streamed in. */
      chunks: z.number().int().min(1).max(64).default(3),
    }),
    create: (config) => ({
      status: "available",
      provider: {
        id: config.id,
        kind: "echo",
        async *stream(request, signal): AsyncGenerator<StreamPart> {
          const aborted: StreamPart = {
            type: "error",
            error: {
              code: "aborted",
              message: `the call to provider "${config.id}" was aborted`,
              retryable: false,
            },
          };
          if (signal.aborted) {
            yield aborted;
            return;
          }
          const counting = counter();
          const counted = counting
            ? await counting.count(config.id)
            : { ok: false as const, message: "the echo extension is not active" };
          if (!counted.ok) {
            yield {
              type: "error",
              error: {
                code: "unavailable",
                message: `provider "${config.id}" could not count the call: ${counted.message}`,
                retryable: false,
              },
            };
            return;
          }
          const text = `${config.prefix}${lastUserText(request)}`;
          for (const piece of split(text, config.chunks)) {
            if (signal.aborted) {
              yield aborted;
              return;
            }
            yield { type: "text-delta", text: piece };
          }
          // one "token" per character: enough for a demo, and deterministic for tests
          yield { type: "usage", inputTokens: lastUserText(request).length, outputTokens: text.length };
          yield { type: "finish", reason: "stop" };
        },
      },
    }),
  });
}
