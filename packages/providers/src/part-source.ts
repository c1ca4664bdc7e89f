import { APICallError, type LanguageModelV4StreamPart } from "@ai-sdk/provider";
import { isAbortError } from "./classify-error.ts";
import { SseParser } from "./sse-parser.ts";
import type { StreamDecoder, StreamDecoderFactory } from "./stream-decoder.ts";

/** Where a call's SDK stream parts come from: the SDK's own stream, or our decoder over the body. */
export interface PartSource {
  /** The next parts (never an empty list), or null at the end. Rejects when the body fails. */
  read(): Promise<LanguageModelV4StreamPart[] | null>;
  /** Stops reading (and so the HTTP body); errors are dropped. */
  cancel(): void;
}

/** The parts of the SDK's `doStream` stream, one at a time. */
export function sdkPartSource(stream: ReadableStream<LanguageModelV4StreamPart>): PartSource {
  const reader = stream.getReader();
  return {
    read: async () => {
      const next = await reader.read();
      return next.done ? null : [next.value];
    },
    cancel: () => {
      reader.cancel().catch(() => {});
    },
  };
}

/** The parts our decoder reads from a successful event-stream response, as its bytes arrive. */
export function decodedPartSource(response: Response, decoder: StreamDecoderFactory): PartSource {
  return new DecodedPartSource(response, decoder);
}

/**
 * What the source uses of the body's reader. Not `ReadableStreamDefaultReader` itself: where
 * @types/node is in scope (an extension's own tsconfig) `getReader()` answers Node's reader type,
 * which lacks Bun's `readMany`.
 */
interface BodyReader {
  read(): Promise<{ done: boolean; value?: Uint8Array | undefined }>;
  cancel(reason?: unknown): Promise<void>;
}

class DecodedPartSource implements PartSource {
  readonly #reader: BodyReader;
  readonly #parser = new SseParser();
  readonly #decoder: StreamDecoder;
  readonly #response: Response;
  readonly #headers: Record<string, string>;
  #ended = false;

  constructor(response: Response, decoder: StreamDecoderFactory) {
    this.#response = response;
    this.#headers = Object.fromEntries(response.headers.entries());
    this.#decoder = decoder({ url: response.url, responseHeaders: this.#headers });
    this.#reader = (response.body as ReadableStream<Uint8Array>).getReader();
  }

  async read(): Promise<LanguageModelV4StreamPart[] | null> {
    const out: LanguageModelV4StreamPart[] = [];
    while (!this.#ended) {
      let next: { done: boolean; value?: Uint8Array | undefined };
      try {
        next = await this.#reader.read();
      } catch (error) {
        // As the SDK reports a body that fails under it (its wrapResponseBodyStream), so both read alike.
        if (isAbortError(error)) throw error;
        throw new APICallError({
          message: "Failed to process successful response",
          cause: error,
          statusCode: this.#response.status,
          url: this.#response.url,
          responseHeaders: this.#headers,
          requestBodyValues: undefined,
        });
      }
      if (next.done) {
        this.#ended = true;
        this.#parser.end();
        this.#decoder.end(out);
      } else if (next.value !== undefined) {
        for (const event of this.#parser.push(next.value)) this.#decoder.event(event, out);
      }
      if (out.length > 0) return out;
    }
    return null;
  }

  cancel(): void {
    this.#reader.cancel().catch(() => {});
  }
}
